# The personagraph API image used by docker-compose.yml (docs/operations.md, "Docker").
# Not built on the project's machines (no Docker engine there): tests/test_day_one_api.py checks this
# file and docker-compose.yml statically.

# 1. GraphiQL and React for the GraphiQL page, Cytoscape.js for the console, from npm (pinned by
#    tools/web-assets/package-lock.json).
FROM node:20-slim AS web-assets
WORKDIR /build
COPY tools/web-assets/package.json tools/web-assets/package-lock.json tools/web-assets/vendor.sh tools/web-assets/
RUN sh tools/web-assets/vendor.sh /build/vendor

# 2. A wheel of personagraph, GraphiQL's files inside it (api/static/vendor, package data).
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY graph graph
COPY loaders loaders
COPY api api
COPY cli cli
COPY cypher cypher
COPY personagraph personagraph
COPY --from=web-assets /build/vendor api/static/vendor
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# 3. The image: the wheel installed (not editable, no sources), run as an unprivileged user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PERSONA_DATA_DIR=/data \
    PERSONA_API_HOST=0.0.0.0
COPY --from=wheel /wheels /wheels
COPY rules /opt/personagraph/rules
# The tag rules are read from rules/tags.yaml beside the installed packages (graph/tags/rule_file.py).
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && python -c "import shutil; from personagraph.graph.tags.rule_file import DEFAULT_RULES as f; shutil.copytree('/opt/personagraph/rules', f.parent)" \
    && python -c "from personagraph.graph.tags.rule_file import load_rules; load_rules()" \
    && groupadd --system --gid 10001 persona \
    && useradd --system --uid 10001 --gid persona --home-dir /home/persona --create-home --shell /usr/sbin/nologin persona \
    && mkdir -p /data \
    && chown persona:persona /data \
    && chmod 0700 /data
# PERSONA_DATA_DIR: secret.key (unless PERSONA_SECRET_KEY is set), api-keys.json, audit.log and rejects/.
# Mount a volume here (docker-compose.yml does): without one they die with the container, and a new
# secret.key would let forgotten users' ids in again.
VOLUME ["/data"]
USER persona:persona
WORKDIR /data
EXPOSE 8000
CMD ["persona", "serve", "--host", "0.0.0.0", "--port", "8000"]

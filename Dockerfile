# The personagraph API image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY graph graph
COPY loaders loaders
COPY api api
COPY cli cli
COPY cypher cypher
COPY rules rules
# Editable, so the rule file and launcher sources beside the packages are found at run time.
RUN pip install --no-cache-dir -e .
EXPOSE 8000
CMD ["persona", "serve", "--host", "0.0.0.0", "--port", "8000"]

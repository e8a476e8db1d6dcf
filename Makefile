# personagraph: `make demo` runs the whole path, `make test` runs the suite against a real Neo4j.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AUDIT := tools/graphql-http-audit
AUDIT_STAMP := $(AUDIT)/node_modules/.installed
WEB_ASSETS := tools/web-assets
WEB_ASSETS_STAMP := api/static/vendor/.installed

.PHONY: install demo test test-fast lint bench-ingest neo4j-stop clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "personagraph needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# graphql-http, for the GraphQL-over-HTTP audit in tests/test_graphql_http_audit.py (needs Node >= 18).
$(AUDIT_STAMP): $(AUDIT)/package.json $(AUDIT)/package-lock.json
	npm ci --prefix $(AUDIT) --no-audit --no-fund --loglevel=error >/dev/null
	@touch $(AUDIT_STAMP)

# GraphiQL and React for the GraphiQL page, Cytoscape.js for the console: from npm into api/static/vendor
# (served by the API; no CDN).
$(WEB_ASSETS_STAMP): $(WEB_ASSETS)/package.json $(WEB_ASSETS)/package-lock.json $(WEB_ASSETS)/vendor.sh
	sh $(WEB_ASSETS)/vendor.sh api/static/vendor
	@touch $(WEB_ASSETS_STAMP)

install: $(STAMP) $(AUDIT_STAMP) $(WEB_ASSETS_STAMP)

demo: $(STAMP) $(WEB_ASSETS_STAMP)
	$(BIN)/persona demo

test: $(STAMP) $(AUDIT_STAMP) $(WEB_ASSETS_STAMP)
	$(BIN)/pytest

# The tests that need no Neo4j (under a minute): tests/conftest.py marks `neo4j` every test that reaches it
# (and `kafka` every test that needs a Kafka broker; those reach Neo4j too).
# NEO4J_URI points nowhere, so a test that reaches Neo4j unmarked fails instead of starting one.
test-fast: $(STAMP)
	NEO4J_URI=bolt://127.0.0.1:1 $(BIN)/pytest -m "not neo4j and not kafka"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Incremental loads against hand-written LOAD CSV (bench/results/ingest.md; about 30 minutes on 2 cores).
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py

neo4j-stop: $(STAMP)
	$(BIN)/persona neo4j stop

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

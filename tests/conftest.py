"""Tests run against a real Neo4j chosen like the CLI chooses it: NEO4J_URI, Docker, or local.

With NEO4J_URI set, the tests WIPE that database's data (not its schema ledger): point them at
a scratch database only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver

from personagraph.graph.server.choose import Neo4jSource, choose_source, local_neo4j
from personagraph.graph.server.connection import ConnectionInfo, open_driver, resolve_connection
from personagraph.graph.server.local import LocalNeo4j, free_port
from personagraph.graph.server.migrations import apply_schema
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from tests.api_support import AnalysedGraph, AnalysedGraphs, Secured, secured
from tests.kafka_support import kafka_for_tests

DEMO_DATA = Path(__file__).resolve().parent.parent / "loaders" / "demo_data"


LOCAL_SERVERS: list[LocalNeo4j] = []  # the launcher the session started, for restart tests

# The fixture that starts (or reaches) Neo4j: every other Neo4j fixture (driver, store, neo4j_env,
# local_server, the analysed graphs) depends on it.
NEO4J_FIXTURES = frozenset({"neo4j_connection", "offline_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``neo4j`` every test whose fixtures reach Neo4j, so ``pytest -m "not neo4j"`` (``make
    test-fast``) never starts it. A test reaching Neo4j another way (a ``persona`` subprocess reading
    NEO4J_URI) would have to carry the mark itself: none does (``make test-fast`` points NEO4J_URI
    nowhere, so one would fail there)."""
    for item in items:
        if NEO4J_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.neo4j)
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def neo4j_connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectionInfo]:
    settings = Settings()
    source = choose_source(settings)
    if source is Neo4jSource.URI:
        yield resolve_connection(settings)
    elif source is Neo4jSource.DOCKER:
        from testcontainers.neo4j import Neo4jContainer

        image = os.environ.get("PERSONA_TEST_NEO4J_IMAGE", "neo4j:5.26-community")
        with Neo4jContainer(image, password="personagraph-test") as container:
            yield ConnectionInfo(
                container.get_connection_url(), "neo4j", "personagraph-test", "neo4j", source
            )
    else:
        local = local_neo4j(settings, data_dir=tmp_path_factory.mktemp("neo4j"), port=free_port())
        local.start()
        LOCAL_SERVERS.append(local)
        try:
            yield ConnectionInfo.of_local(local)
        finally:
            local.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Kafka broker's bootstrap: PERSONA_KAFKA_BOOTSTRAP, else a local one (tests/kafka_support.py)
    started once for the session (its jars resolved by Maven on the first start, as Neo4j's are)."""
    if not os.environ.get("PERSONA_KAFKA_BOOTSTRAP") and shutil.which("mvn") is None:
        pytest.skip("the local Kafka's jars come from Maven Central: install Maven and a JDK")
    with kafka_for_tests(tmp_path_factory.mktemp("kafka")) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def offline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    """A second local Neo4j, which tests may stop, replace through the offline importer and start again
    (tests/test_offline_import.py, tests/test_bulk_load.py): one start for all of them."""
    if shutil.which("mvn") is None:
        pytest.skip("the offline importer runs on the local launcher, which needs Maven and a JDK")
    local = local_neo4j(Settings(), data_dir=tmp_path_factory.mktemp("offline-neo4j"), port=free_port())
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def local_server(neo4j_connection: ConnectionInfo) -> LocalNeo4j:
    """The local Neo4j behind the tests, for tests that stop and start it."""
    if not LOCAL_SERVERS:
        pytest.skip("Neo4j is not the local launcher (NEO4J_URI or Docker): cannot restart it here")
    return LOCAL_SERVERS[0]


@pytest.fixture(scope="session")
def driver(neo4j_connection: ConnectionInfo) -> Iterator[Driver]:
    driver = open_driver(neo4j_connection, wait_s=60)
    apply_schema(GraphStore(driver, neo4j_connection.database))
    yield driver
    driver.close()


@pytest.fixture
def store(driver: Driver, neo4j_connection: ConnectionInfo) -> GraphStore:
    """A store over an empty graph (schema kept), so no test depends on another."""
    graph = GraphStore(driver, neo4j_connection.database)
    graph.run_autocommit("server/write/wipe_data")
    return graph


@pytest.fixture(scope="session")
def analysed_graphs(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> AnalysedGraphs:
    return AnalysedGraphs(driver, neo4j_connection, tmp_path_factory.mktemp("analysed"))


@pytest.fixture(scope="module")
def graph(request: pytest.FixtureRequest, analysed_graphs: AnalysedGraphs) -> AnalysedGraph:
    """A generated shop loaded, analysed and tagged (tests/api_support.py), as built, for this module's
    tests to read and write: built once per size in the session and restored from its snapshot for each
    later module, so every module starts from the same graph whatever ran (and wiped) before it. 400 users,
    or the module's ANALYSED_USERS."""
    return analysed_graphs.fresh(getattr(request.module, "ANALYSED_USERS", 400))


@pytest.fixture(scope="module")
def keys(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Secured:
    """Settings for this module's app with a key for every role (tests/api_support.py): no rate limit
    (test_api_limits.py has its own tests), plus the module's API_SETTINGS."""
    extra = getattr(request.module, "API_SETTINGS", {})
    return secured(tmp_path_factory.mktemp("keys"), api_rate_limit=0, **extra)


@pytest.fixture(scope="module")
def client(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[TestClient]:
    """A client of this module's app over its analysed graph, sending no key (tests send a role's)."""
    with keys.client(neo4j_connection, None) as test_client:
        yield test_client


@pytest.fixture
def neo4j_env(neo4j_connection: ConnectionInfo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points the CLI and Settings at the test Neo4j."""
    env = {
        "NEO4J_URI": neo4j_connection.uri,
        "PERSONA_NEO4J_USER": neo4j_connection.user,
        "PERSONA_NEO4J_PASSWORD": neo4j_connection.password,
        "PERSONA_NEO4J_DATABASE": neo4j_connection.database,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env

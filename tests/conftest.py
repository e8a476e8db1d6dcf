"""Tests run against a real Neo4j chosen like the CLI chooses it: NEO4J_URI, Docker, or local.

With NEO4J_URI set, the tests WIPE that database's data (not its schema ledger): point them at
a scratch database only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j import Driver

from personagraph.graph.server.choose import Neo4jSource, choose_source, local_neo4j
from personagraph.graph.server.connection import ConnectionInfo, open_driver, resolve_connection
from personagraph.graph.server.local import LocalNeo4j, free_port
from personagraph.graph.server.migrations import apply_schema
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore

DEMO_DATA = Path(__file__).resolve().parent.parent / "loaders" / "demo_data"


LOCAL_SERVERS: list[LocalNeo4j] = []  # the launcher the session started, for restart tests


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
            yield ConnectionInfo(local.bolt_uri, "neo4j", local.password, "neo4j", source)
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

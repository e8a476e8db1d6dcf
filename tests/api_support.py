"""Shared by the API tests: a generated, analysed graph and a GraphQL client over real HTTP handling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from neo4j import Driver
from pydantic import SecretStr

from personagraph.api.app import create_app
from personagraph.api.auth import KeyFile
from personagraph.api.policy import Role
from personagraph.graph.analytics.attribution import run_attribution
from personagraph.graph.analytics.copurchase import run_copurchase
from personagraph.graph.analytics.influence import run_influence
from personagraph.graph.analytics.personas import run_personas
from personagraph.graph.analytics.segments import run_segments
from personagraph.graph.analytics.social_communities import run_social_communities
from personagraph.graph.audit import AuditLog
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import refresh_tags
from personagraph.loaders.generator import GeneratorReport, generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset


@dataclass(frozen=True)
class AnalysedGraph:
    store: GraphStore
    report: GeneratorReport


def analysed_graph(
    driver: Driver, connection: ConnectionInfo, folder: Path, *, users: int = 400
) -> AnalysedGraph:
    """Wipe, load a generated dataset, run every analysis and the rule tags: what `make demo` serves."""
    store = GraphStore(driver, connection.database)
    store.run_autocommit("server/write/wipe_data")
    report = generate(folder / "data", users=users, seed=11)
    options = LoadOptions(
        batch_size=2000, rejects_dir=folder / "rejects", context=RowContext(identity_salt="t")
    )
    load_dataset(store, report.out_dir, options=options)
    analyse(store)
    return AnalysedGraph(store, report)


def analyse(store: GraphStore) -> None:
    """Every analysis and the rule tags, with thresholds that suit a few hundred users."""
    run_influence(store)
    run_social_communities(store, min_size=2)
    run_copurchase(store, min_count=2)
    run_segments(store)
    run_personas(store)
    run_attribution(store)
    refresh_tags(store)


@dataclass(frozen=True)
class Snapshot:
    """Every node and edge of a graph but the schema ledger (what wipe_data deletes), to put back."""

    nodes: list[dict[str, Any]]  # {"id": element id, "labels": [...], "props": {...}}
    edges: list[dict[str, Any]]  # {"a": start element id, "b": end element id, "type": ..., "props": {...}}


SNAPSHOT_BATCH = 5000


def take_snapshot(store: GraphStore) -> Snapshot:
    def read(cypher: str) -> list[dict[str, Any]]:
        records, _, _ = store.driver.execute_query(cypher, database_=store.database)
        return [dict(r) for r in records]

    return Snapshot(
        read(
            "MATCH (n) WHERE NOT n:SchemaMigration "
            "RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props"
        ),
        read(
            "MATCH (a)-[r]->(b) "
            "RETURN elementId(a) AS a, elementId(b) AS b, type(r) AS type, properties(r) AS props"
        ),
    )


def restore(store: GraphStore, snapshot: Snapshot) -> None:
    """Wipe the data and write the snapshot's nodes and edges back (new element ids, same content)."""
    store.run_autocommit("server/write/wipe_data")
    new_id: dict[str, str] = {}
    for start in range(0, len(snapshot.nodes), SNAPSHOT_BATCH):
        records, _, _ = store.driver.execute_query(
            "UNWIND $rows AS row CREATE (n:$(row.labels)) SET n = row.props "
            "RETURN row.id AS old, elementId(n) AS new",
            rows=snapshot.nodes[start : start + SNAPSHOT_BATCH],
            database_=store.database,
        )
        new_id.update((r["old"], r["new"]) for r in records)
    for start in range(0, len(snapshot.edges), SNAPSHOT_BATCH):
        rows = [
            {**edge, "a": new_id[edge["a"]], "b": new_id[edge["b"]]}
            for edge in snapshot.edges[start : start + SNAPSHOT_BATCH]
        ]
        store.driver.execute_query(
            "UNWIND $rows AS row MATCH (a) WHERE elementId(a) = row.a MATCH (b) WHERE elementId(b) = row.b "
            "CREATE (a)-[r:$(row.type)]->(b) SET r = row.props",
            rows=rows,
            database_=store.database,
        )


def reused_graph(
    driver: Driver, connection: ConnectionInfo, marker: str, users: int, load: Callable[[GraphStore], None]
) -> GraphStore:
    """A small graph that ``load`` writes once and tests reuse while nothing else has touched it: its
    marker node is there and it holds ``users`` users; otherwise the data is wiped and loaded again."""
    store = GraphStore(driver, connection.database)
    records, _, _ = driver.execute_query(
        "OPTIONAL MATCH (m:TestMarker {name: $name}) "
        "RETURN m IS NOT NULL AS here, COUNT { (:User) } AS users",
        name=marker,
        database_=connection.database,
    )
    if not (records[0]["here"] and records[0]["users"] == users):
        store.run_autocommit("server/write/wipe_data")
        load(store)
        driver.execute_query("CREATE (:TestMarker {name: $name})", name=marker, database_=connection.database)
    return store


class AnalysedGraphs:
    """The session's analysed graphs, one build per size: each module that asks for one gets it as built,
    whatever ran before (tests wipe and write), restored from a snapshot after the first build."""

    def __init__(self, driver: Driver, connection: ConnectionInfo, folder: Path) -> None:
        self.driver, self.connection, self.folder = driver, connection, folder
        self._built: dict[int, tuple[AnalysedGraph, Snapshot]] = {}

    def fresh(self, users: int = 400) -> AnalysedGraph:
        if users in self._built:
            graph, snapshot = self._built[users]
            restore(graph.store, snapshot)
            return graph
        graph = analysed_graph(self.driver, self.connection, self.folder / f"users-{users}", users=users)
        self._built[users] = (graph, take_snapshot(graph.store))
        return graph


def one(graph: AnalysedGraph, cypher: str, **params: Any) -> dict[str, Any]:
    """The first row of a Cypher read on the test graph (there must be one)."""
    records, _, _ = graph.store.driver.execute_query(cypher, params)
    assert records, cypher
    return dict(records[0])


def rows(graph: AnalysedGraph, cypher: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a Cypher read on the test graph."""
    records, _, _ = graph.store.driver.execute_query(cypher, params)
    return [dict(r) for r in records]


TEST_SECRET = SecretStr("personagraph-test-secret-key")


@dataclass(frozen=True)
class Secured:
    """Settings with an API keys file holding one key per role, and those keys."""

    settings: Settings
    tokens: dict[Role, str]

    def headers(self, role: Role | str = Role.ADMIN) -> dict[str, str]:
        return bearer(self.tokens[Role(role)])

    def client(
        self, connection: ConnectionInfo, role: Role | str | None = Role.ADMIN, *, crash_as_500: bool = False
    ) -> TestClient:
        """A client of a new app with these settings, sending ``role``'s key (no key for None; use it in
        ``with``). With ``crash_as_500`` an unhandled exception is answered with HTTP 500, as a real client
        sees it, instead of being raised into the test."""
        return TestClient(
            create_app(self.settings, connection=connection),
            headers=None if role is None else self.headers(role),
            raise_server_exceptions=not crash_as_500,
        )

    def audit_entries(self) -> list[dict[str, Any]]:
        """The audit log the app writes, entry by entry."""
        return [e.__dict__ for e in AuditLog(self.settings.audit_log_path).entries()]


def secured(folder: Path, **settings: Any) -> Secured:
    """Settings for a test app: keys for every role, an audit log and a fixed secret, under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    keys = KeyFile(folder / "api-keys.json")
    tokens = {role: keys.create(f"test-{role.value}", role)[1] for role in Role}
    return Secured(
        Settings(
            api_keys_file=keys.path,
            audit_log=folder / "audit.log",
            secret_key=TEST_SECRET,
            data_dir=folder,
            **settings,
        ),
        tokens,
    )


def as_role(client: TestClient, keys: Secured, role: str) -> GraphQL:
    """A GraphQL client sending ``role``'s key from ``keys``."""
    return GraphQL(client, headers=keys.headers(role))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class GraphQL:
    """POSTs operations to /graphql as a front-end app would (JSON over HTTP), with the given headers
    (the client's own, usually an admin key, when None)."""

    def __init__(self, client: TestClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The data of an operation that must succeed."""
        body = self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The first error of an operation that must fail; never a stack trace."""
        body = self.raw(query, variables)
        assert body.get("errors"), body
        error: dict[str, Any] = body["errors"][0]
        assert "Traceback" not in str(body) and "neo4j." not in str(body), body
        return error

    def code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        return str(self.error(query, variables)["extensions"]["code"])

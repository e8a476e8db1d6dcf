"""Shared by the API tests: a generated, analysed graph and a GraphQL client over real HTTP handling."""

from __future__ import annotations

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

    def client(self, connection: ConnectionInfo, role: Role | str = Role.ADMIN) -> TestClient:
        """A client of a new app with these settings, sending ``role``'s key (use it in ``with``)."""
        return TestClient(create_app(self.settings, connection=connection), headers=self.headers(role))


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

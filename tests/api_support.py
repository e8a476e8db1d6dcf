"""Shared by the API tests: a generated, analysed graph and a GraphQL client over real HTTP handling."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from neo4j import Driver

from graph.analytics.attribution import run_attribution
from graph.analytics.copurchase import run_copurchase
from graph.analytics.segments import run_personas, run_segments
from graph.analytics.social import run_influence, run_social_communities
from graph.connection import ConnectionInfo
from graph.store import GraphStore
from graph.tags.engine import refresh_tags
from loaders.generator import GeneratorReport, generate
from loaders.pipeline import LoadOptions, load_dataset
from loaders.records import RowContext


@dataclass(frozen=True)
class AnalysedGraph:
    store: GraphStore
    report: GeneratorReport


def analysed_graph(
    driver: Driver, connection: ConnectionInfo, folder: Path, *, users: int = 400
) -> AnalysedGraph:
    """Wipe, load a generated dataset, run every analysis and the rule tags: what `make demo` serves."""
    store = GraphStore(driver, connection.database)
    store.run_autocommit("admin/wipe_data")
    report = generate(folder / "data", users=users, seed=11)
    options = LoadOptions(
        batch_size=2000, rejects_dir=folder / "rejects", context=RowContext(identity_salt="t")
    )
    load_dataset(store, report.out_dir, options=options)
    run_influence(store)
    run_social_communities(store, min_size=2)
    run_copurchase(store, min_count=2)
    run_segments(store)
    run_personas(store)
    run_attribution(store)
    refresh_tags(store)
    return AnalysedGraph(store, report)


class GraphQL:
    """POSTs operations to /graphql as a front-end app would (JSON over HTTP)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
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

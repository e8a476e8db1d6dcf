"""The thin vertical slice: demo files -> loaders -> Neo4j -> GraphQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from personagraph.graph.profiles.read import friends_of, get_user
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.api_support import secured
from tests.conftest import DEMO_DATA

COUNTS = """
MATCH (n) WHERE NOT n:SchemaMigration
WITH labels(n)[0] AS label, count(*) AS n RETURN label, n ORDER BY label
"""
EDGES = "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS n ORDER BY type"


def _census(store: GraphStore) -> tuple[dict[str, int], dict[str, int]]:
    nodes, _, _ = store.driver.execute_query(COUNTS)
    edges, _, _ = store.driver.execute_query(EDGES)
    return {r["label"]: r["n"] for r in nodes}, {r["type"]: r["n"] for r in edges}


def test_demo_dataset_loads_every_row(store: GraphStore, tmp_path: Path) -> None:
    reports = load_dataset(store, DEMO_DATA, options=LoadOptions(batch_size=3, rejects_dir=tmp_path))
    assert all(r.rejected == 0 and r.loaded == r.read for r in reports)
    nodes, edges = _census(store)
    assert nodes["User"] == 6 and nodes["Product"] == 5 and nodes["Order"] == 5 and nodes["Channel"] == 4
    assert edges["FRIEND_OF"] == 3 and edges["FOLLOWS"] == 2 and edges["REFERRED"] == 1
    assert edges["CONTAINS"] == 8 and edges["PLACED"] == 5 and edges["ACQUIRED_VIA"] == 6


def test_loading_twice_changes_nothing(store: GraphStore, tmp_path: Path) -> None:
    load_dataset(store, DEMO_DATA, options=LoadOptions(batch_size=1000, rejects_dir=tmp_path))
    first = _census(store)
    again = load_dataset(store, DEMO_DATA, options=LoadOptions(batch_size=2, rejects_dir=tmp_path))
    assert _census(store) == first
    assert sum(r.counts.nodes_created + r.counts.relationships_created for r in again) == 0


def test_profile_reads_are_typed(store: GraphStore, tmp_path: Path) -> None:
    load_dataset(store, DEMO_DATA, options=LoadOptions(batch_size=1000, rejects_dir=tmp_path))
    user = get_user(store, user_id="u001")
    assert user is not None and user.city == "Shanghai" and user.birth_year == 1992
    assert user.marketing_consent is True
    assert get_user(store, user_id="nobody") is None
    friends = friends_of(store, user_ids=["u001", "u004", "nobody"])
    assert [f.user_id for f in friends["u001"]] == ["u003", "u005"]
    assert friends["u004"] == [] and friends["nobody"] == []


@pytest.fixture
def client(store: GraphStore, neo4j_connection: ConnectionInfo, tmp_path: Path) -> Iterator[TestClient]:
    load_dataset(store, DEMO_DATA, options=LoadOptions(batch_size=1000, rejects_dir=tmp_path))
    keys = secured(tmp_path / "keys")
    with keys.client(neo4j_connection, "service") as client:
        yield client


def test_graphql_user_with_friends(client: TestClient) -> None:
    query = (
        '{ user(id: "u002") { id city ageBand friends { edges { node { id city '
        "friends { edges { node { id } } } } } } } }"
    )
    response = client.post("/graphql", json={"query": query})
    assert response.status_code == 200
    user = response.json()["data"]["user"]
    assert user["id"] == "u002" and user["city"] == "Hangzhou"
    friends = [e["node"] for e in user["friends"]["edges"]]
    assert friends == [{"id": "u006", "city": "Shanghai", "friends": {"edges": [{"node": {"id": "u002"}}]}}]


def test_graphql_unknown_user_is_null_and_bad_query_is_an_error(client: TestClient) -> None:
    missing = client.post("/graphql", json={"query": '{ user(id: "nobody") { id } }'})
    assert missing.json() == {"data": {"user": None}}
    bad = client.post("/graphql", json={"query": "{ user { id } }"})
    body = bad.json()
    assert body["errors"] and "required" in body["errors"][0]["message"]
    assert "Traceback" not in bad.text


def test_graphiql_on_get(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_demo_files_are_real_files() -> None:
    assert {p.name for p in Path(DEMO_DATA).glob("*.csv")} >= {"users.csv", "ties.csv", "orders.csv"}

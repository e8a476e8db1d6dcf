"""The GDS engine against the Python engine on one generated graph in the real Neo4j (with the GDS plugin).

Same projections, so PageRank agrees on the top users, Leiden on modularity (within 0.01, both measured
on the Python engine's graph), and both write the same properties, nodes and run records.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import igraph as ig
import numpy as np
import pytest
from neo4j import Driver

from personagraph.graph.analytics import insights
from personagraph.graph.analytics.copurchase import run_copurchase
from personagraph.graph.analytics.gds_engine import GdsMemoryError, by_size
from personagraph.graph.analytics.gds_social import run_influence_gds, run_social_communities_gds
from personagraph.graph.analytics.influence import InfluenceWeights, run_influence
from personagraph.graph.analytics.social_communities import run_social_communities, undirected_graph
from personagraph.graph.analytics.social_projection import project_social
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset

FILES = ("channels.csv", "products.csv", "users.csv", "orders.csv", "ties.csv")  # no events: load time
USERS = 800
TOP = 100


@pytest.fixture(scope="module")
def graph(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> GraphStore:
    """A generated shop (users, ties, orders) loaded once for the module."""
    folder = tmp_path_factory.mktemp("gds")
    generated = generate(folder / "all", users=USERS, seed=11, chunk_size=400)
    (folder / "data").mkdir()
    for name in FILES:
        shutil.copy(generated.out_dir / name, folder / "data" / name)
    store = GraphStore(driver, neo4j_connection.database)
    store.run_autocommit("server/write/wipe_data")
    options = LoadOptions(batch_size=5000, rejects_dir=folder / "r", context=RowContext(identity_salt="s"))
    load_dataset(store, folder / "data", options=options)
    return store


def _query(store: GraphStore, text: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(text, params, database_=store.database)
    return [dict(r) for r in records]


def _users(store: GraphStore, *fields: str) -> dict[str, list[Any]]:
    rows = _query(
        store, "MATCH (u:User) RETURN u.userId AS id, [f IN $fields | u[f]] AS v", fields=list(fields)
    )
    return {r["id"]: r["v"] for r in rows}


def _run(store: GraphStore, run_id: str) -> dict[str, Any]:
    return _query(store, "MATCH (r:AnalyticsRun {runId: $id}) RETURN properties(r) AS p", id=run_id)[0]["p"]


def _shape(props: dict[str, Any]) -> dict[str, str]:
    """Property names and value types (run ids and times aside, which differ by design)."""
    return {k: type(v).__name__ for k, v in props.items()}


@pytest.fixture(autouse=True)
def no_graph_left(graph: GraphStore) -> Iterator[None]:
    """Every run drops its projection, whether it succeeded or was refused."""
    yield
    assert not _query(
        graph, "CALL gds.graph.list() YIELD graphName WHERE graphName STARTS WITH 'persona-' RETURN 1"
    )


def test_by_size_numbers_communities_as_the_python_engine() -> None:
    ids, labels = by_size([30, 10, 20, 40, 50], [7, 9, 9, 7, 3])
    assert ids.tolist() == [10, 20, 30, 40, 50]
    # two communities of 2: the one whose first member (by id) comes first is 0
    assert labels.tolist() == [0, 0, 1, 1, 2]


def test_pagerank_agrees_with_the_python_engine(graph: GraphStore) -> None:
    python = run_influence(graph)
    expected = _users(graph, "influence", "influenceRank", "degree", "reach2")
    run_python = _run(graph, python.run_id)
    gds = run_influence_gds(graph)
    got = _users(graph, "influence", "influenceRank", "degree", "reach2", "influenceRunId")
    assert set(got) == set(expected) and len(got) == USERS
    top_python = {u for u, v in expected.items() if v[1] <= TOP}
    top_gds = {u for u, v in got.items() if v[1] <= TOP}
    assert len(top_python & top_gds) / TOP >= 0.95
    assert sum(v[0] for v in got.values()) == pytest.approx(1.0)
    for user, (score, _rank, degree, reach, run_id) in got.items():
        assert score == pytest.approx(expected[user][0], rel=1e-4), user
        assert (degree, reach, run_id) == (expected[user][2], expected[user][3], gds.run_id), user
    assert [u for u, _ in gds.top[:5]] == [u for u, _ in python.top[:5]]
    assert (gds.users, gds.ties) == (python.users, python.ties)
    run_gds = _run(graph, gds.run_id)
    assert json.loads(run_gds["parameters"])["engine"] == "gds"
    assert json.loads(run_python["parameters"])["engine"] == "python"
    assert json.loads(run_gds["counts"]).keys() == json.loads(run_python["counts"]).keys()
    assert _shape(run_gds) == _shape(run_python) and run_gds["status"] == "done"
    # the API's read of influencers sees the GDS run as it saw the Python one
    assert [p.user_id for p in insights.influencers(graph, first=5)] == [u for u, _ in python.top[:5]]


def _modularity(store: GraphStore, field: str) -> float:
    """Modularity of the stored socialCommunity on the Python engine's graph (no community: singletons)."""
    social = project_social(store)
    graph = undirected_graph(social.edges, social.users.size, InfluenceWeights().by_kind())
    stored = _users(store, field)
    labels = [stored[key][0] or f"alone-{key}" for key in social.users.keys.tolist()]
    _, membership = np.unique(labels, return_inverse=True)
    return float(graph.modularity(membership.tolist(), weights="weight"))


def test_social_communities_match_python_modularity(graph: GraphStore) -> None:
    python = run_social_communities(graph, min_size=1)
    python_q = _modularity(graph, "socialCommunity")
    communities_python = _query(graph, "MATCH (c:Community {kind: 'social'}) RETURN properties(c) AS p")
    gds = run_social_communities_gds(graph, min_size=1)
    gds_q = _modularity(graph, "socialCommunity")
    assert python_q == pytest.approx(python.modularity, abs=1e-9)
    assert gds_q == pytest.approx(gds.modularity, abs=1e-6)  # GDS measures the same graph
    assert abs(gds_q - python_q) <= 0.01
    assert gds.users == python.users and gds.communities > 1
    sizes = {
        r["p"]["communityId"]: r["p"]["size"]
        for r in _query(graph, "MATCH (c:Community {kind: 'social'}) RETURN properties(c) AS p")
    }
    assert [sizes[f"social-{i}"] for i in range(len(sizes))] == sorted(sizes.values(), reverse=True)
    assert sorted(sizes.values(), reverse=True) == gds.sizes
    communities_gds = _query(graph, "MATCH (c:Community {kind: 'social'}) RETURN properties(c) AS p")
    assert _shape(communities_gds[0]["p"]) == _shape(communities_python[0]["p"])
    assert {c.community_id for c in insights.communities(graph, first=100)} == set(sizes)


def _product_modularity(store: GraphStore) -> float:
    """Modularity of stored product communities on the kept pairs weighted by count (the engines' graph)."""
    pairs = _query(
        store,
        "MATCH (a:Product)-[r:BOUGHT_WITH]-(b:Product) WHERE a.sku < b.sku "
        "RETURN a.sku AS a, b.sku AS b, max(r.count) AS n, "
        "a.productCommunity AS ca, b.productCommunity AS cb",
    )
    skus = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    index = {s: i for i, s in enumerate(skus)}
    community = {p["a"]: p["ca"] for p in pairs} | {p["b"]: p["cb"] for p in pairs}
    graph = ig.Graph(n=len(skus), edges=[(index[p["a"]], index[p["b"]]) for p in pairs])
    graph.es["weight"] = [float(p["n"]) for p in pairs]
    _, membership = np.unique([community[s] for s in skus], return_inverse=True)
    return float(graph.modularity(membership.tolist(), weights="weight"))


def test_product_communities_match_python_modularity(graph: GraphStore) -> None:
    python = run_copurchase(graph)
    python_q = _product_modularity(graph)
    gds = run_copurchase(graph, engine="gds")
    gds_q = _product_modularity(graph)
    assert python.pairs_written == gds.pairs_written > 0 and gds.communities > 1
    assert abs(gds_q - python_q) <= 0.01
    sizes = _query(
        graph, "MATCH (c:Community {kind: 'product'}) RETURN c.communityId AS id, c.size AS n, c.runId AS run"
    )
    assert {r["run"] for r in sizes} == {gds.run_id} and len(sizes) == gds.communities
    by_id = {r["id"]: r["n"] for r in sizes}
    assert [by_id[f"product-{i}"] for i in range(len(by_id))] == sorted(by_id.values(), reverse=True)


def test_a_run_that_would_not_fit_is_refused_and_writes_nothing(graph: GraphStore) -> None:
    before = _query(graph, "MATCH (r:AnalyticsRun) RETURN count(r) AS n")[0]["n"]
    stamps = _users(graph, "influenceRunId", "socialCommunityRunId")
    with pytest.raises(
        GdsMemoryError, match=r"PageRank would need up to .* MiB .* nothing was projected or written"
    ):
        run_influence_gds(graph, memory_limit=1024)
    with pytest.raises(GdsMemoryError, match="Leiden"):
        run_social_communities_gds(graph, memory_limit=1024)
    with pytest.raises(GdsMemoryError, match="products bought together"):
        run_copurchase(graph, engine="gds", memory_limit=1024)
    assert _query(graph, "MATCH (r:AnalyticsRun) RETURN count(r) AS n")[0]["n"] == before
    assert _users(graph, "influenceRunId", "socialCommunityRunId") == stamps

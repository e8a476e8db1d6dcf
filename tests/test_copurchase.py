"""Co-purchase: exact measures on hand-made baskets, brute-force agreement, planted bundles, re-runs."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from personagraph.graph.analytics.bought_together import bought_with, compute_copurchase, incidence
from personagraph.graph.analytics.copurchase import run_copurchase
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import GeneratorReport, generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset

# Ten orders over A, B, C, D (order 1 holds A on two lines: it still counts once).
# Orders holding A: 5, B: 4, C: 6, D: 4; A+B: 3, C+D: 3, A+C: 2, B+C: 2.
TINY_ORDERS = [
    ["A", "A", "B"],
    ["A", "B"],
    ["A", "B", "C"],
    ["A", "C"],
    ["B", "C"],
    ["A"],
    ["C", "D"],
    ["C", "D"],
    ["C", "D"],
    ["D"],
]
TINY_CATEGORY = {"A": "Home/Kitchen", "B": "Home/Kitchen", "C": "Garden/Tools", "D": "Garden/Tools"}
# (src, dst): count, support, confidence(src -> dst), lift, all by hand
TINY_EXPECTED = {
    ("A", "B"): (3, 0.3, 0.6, 1.5),  # lift = 0.3 / (0.5 * 0.4)
    ("B", "A"): (3, 0.3, 0.75, 1.5),
    ("C", "D"): (3, 0.3, 0.5, 1.25),  # lift = 0.3 / (0.6 * 0.4)
    ("D", "C"): (3, 0.3, 0.75, 1.25),
}


def _load_tiny(store: GraphStore) -> None:
    lines = [
        {"orderId": f"o{i}", "lineId": f"o{i}-{k}", "sku": sku}
        for i, skus in enumerate(TINY_ORDERS)
        for k, sku in enumerate(skus)
    ]
    store.driver.execute_query(
        "UNWIND $products AS p MERGE (c:Category {categoryId: p.category}) "
        "CREATE (:Product {sku: p.sku, name: 'Product ' + p.sku})-[:IN_CATEGORY]->(c)",
        products=[{"sku": s, "category": c} for s, c in TINY_CATEGORY.items()],
    )
    store.driver.execute_query(
        "UNWIND $lines AS l MATCH (p:Product {sku: l.sku}) MERGE (o:Order {orderId: l.orderId}) "
        "CREATE (o)-[:CONTAINS {lineId: l.lineId, quantity: 1}]->(p)",
        lines=lines,
    )


def _edges(store: GraphStore) -> dict[tuple[str, str], dict[str, Any]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (a:Product)-[r:BOUGHT_WITH]->(b:Product) RETURN a.sku AS a, b.sku AS b, properties(r) AS r"
    )
    return {(r["a"], r["b"]): r["r"] for r in records}


def _communities(store: GraphStore) -> dict[str, tuple[list[str], list[str], str]]:
    """communityId -> (member skus, topCategories, runId)."""
    records, _, _ = store.driver.execute_query(
        "MATCH (c:Community {kind: 'product'}) OPTIONAL MATCH (p:Product)-[:IN_COMMUNITY]->(c) "
        "WITH c, p ORDER BY p.sku "
        "RETURN c.communityId AS id, collect(p.sku) AS skus, c.topCategories AS top, c.runId AS runId, "
        "       c.size AS size, collect(p.productCommunity) AS labels"
    )
    for r in records:
        assert r["size"] == len(r["skus"]) and set(r["labels"]) == {r["id"]}
    return {r["id"]: (r["skus"], r["top"], r["runId"]) for r in records}


def test_tiny_baskets_write_hand_computed_measures_both_ways(store: GraphStore) -> None:
    _load_tiny(store)
    report = run_copurchase(store, batch_size=3)
    assert (report.orders, report.products, report.pairs_written, report.communities) == (10, 4, 4, 2)
    edges = _edges(store)
    assert set(edges) == set(TINY_EXPECTED)  # A+C and B+C (count 2) stay under min_count 3
    for key, (count, support, confidence, lift) in TINY_EXPECTED.items():
        edge = edges[key]
        assert edge["count"] == count, key
        assert edge["support"] == pytest.approx(support, rel=1e-12), key
        assert edge["confidence"] == pytest.approx(confidence, rel=1e-12), key
        assert edge["lift"] == pytest.approx(lift, rel=1e-12), key
        assert edge["runId"] == report.run_id and edge["computedAt"] is not None
    communities = _communities(store)
    assert sorted(v[0] for v in communities.values()) == [["A", "B"], ["C", "D"]]
    assert all(v[1] == [TINY_CATEGORY[v[0][0]]] and v[2] == report.run_id for v in communities.values())
    top = bought_with(store, sku="B")
    assert [(b.sku, b.name, b.count) for b in top] == [("A", "Product A", 3)]
    assert top[0].confidence == pytest.approx(0.75) and top[0].lift == pytest.approx(1.5)
    assert bought_with(store, sku="nope") == []


def test_rerun_replaces_edges_and_communities_of_earlier_runs(store: GraphStore) -> None:
    _load_tiny(store)
    first = run_copurchase(store)
    second = run_copurchase(store, min_lift=1.3)  # C+D (lift 1.25) no longer qualifies
    assert second.run_id != first.run_id and second.pairs_written == 2
    edges = _edges(store)
    assert set(edges) == {("A", "B"), ("B", "A")}
    assert {e["runId"] for e in edges.values()} == {second.run_id}
    communities = _communities(store)
    assert [(v[0], v[2]) for v in communities.values()] == [(["A", "B"], second.run_id)]
    records, _, _ = store.driver.execute_query(
        "MATCH (p:Product) WHERE p.sku IN ['C', 'D'] "
        "RETURN count(p.productCommunity) AS labelled, count{ (p)-[:IN_COMMUNITY]->() } AS linked"
    )
    assert (records[0]["labelled"], records[0]["linked"]) == (0, 0)


def _brute_force(
    baskets: list[set[int]], *, min_count: int, min_support: float, min_lift: float, max_pairs: int
) -> dict[tuple[int, int], tuple[int, float, float, float]]:
    """Directed edges by plain counting; each source keeps its best ``max_pairs`` (lift, count, dst)."""
    n = len(baskets)
    item: dict[int, int] = {}
    pair: dict[tuple[int, int], int] = {}
    for basket in baskets:
        for p in basket:
            item[p] = item.get(p, 0) + 1
        for a, b in combinations(sorted(basket), 2):
            pair[a, b] = pair.get((a, b), 0) + 1
    candidates: dict[int, list[tuple[Fraction, int, int]]] = {}
    for (a, b), count in pair.items():
        lift = Fraction(count * n, item[a] * item[b])
        if count >= min_count and count / n >= min_support and lift >= min_lift:
            candidates.setdefault(a, []).append((lift, count, b))
            candidates.setdefault(b, []).append((lift, count, a))
    edges = {}
    for src, options in candidates.items():
        for lift, count, dst in sorted(options, key=lambda o: (-o[0], -o[1], o[2]))[:max_pairs]:
            edges[src, dst] = (count, count / n, count / item[src], float(lift))
    return edges


@pytest.mark.parametrize(
    ("seed", "min_count", "min_support", "min_lift", "max_pairs"),
    [(1, 3, 0.0, 1.0, 20), (2, 2, 0.01, 0.0, 3), (3, 1, 0.0, 1.2, 1), (4, 5, 0.0, 0.5, 5)],
)
def test_compute_matches_brute_force(
    seed: int, min_count: int, min_support: float, min_lift: float, max_pairs: int
) -> None:
    rng = np.random.default_rng(seed)
    orders, products = 400, 30
    sizes = 1 + rng.poisson(1.5, orders)
    order_pos = np.repeat(np.arange(orders), sizes)
    product_pos = (rng.random(order_pos.size) ** 2 * products).astype(np.int64)  # skewed, with repeats
    matrix = incidence(order_pos, product_pos, orders, products)
    result = compute_copurchase(
        matrix, min_count=min_count, min_support=min_support, min_lift=min_lift, max_pairs=max_pairs
    )
    got = {
        (s, d): (c, sup, conf, lift)
        for s, d, c, sup, conf, lift in zip(
            result.src.tolist(),
            result.dst.tolist(),
            result.count.tolist(),
            result.support.tolist(),
            result.confidence.tolist(),
            result.lift.tolist(),
            strict=True,
        )
    }
    baskets = [set(product_pos[order_pos == o].tolist()) for o in range(orders)]
    expected = _brute_force(
        baskets, min_count=min_count, min_support=min_support, min_lift=min_lift, max_pairs=max_pairs
    )
    assert expected and set(got) == set(expected)
    for key, (count, support, confidence, lift) in expected.items():
        assert got[key][0] == count
        assert got[key][1:] == pytest.approx((support, confidence, lift), rel=1e-12)
    assert result.orders == orders and result.item_counts.tolist() == [
        sum(p in b for b in baskets) for p in range(products)
    ]


def test_no_baskets_compute_nothing() -> None:
    empty = np.zeros(0, dtype=np.int64)
    result = compute_copurchase(incidence(empty, empty, 0, 0))
    assert result.edges == 0 and result.orders == 0


BASKET_FILES = ("channels.csv", "products.csv", "users.csv", "orders.csv")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratorReport:
    return generate(tmp_path_factory.mktemp("copurchase"), users=1500, seed=5, chunk_size=600)


def _basket_files(generated: GeneratorReport, folder: Path) -> Path:
    """Only what orders need (events, ties and identities take most of the load time, unused here)."""
    folder.mkdir()
    for name in BASKET_FILES:
        shutil.copy(generated.out_dir / name, folder / name)
    return folder


def _undirected(store: GraphStore) -> dict[tuple[str, str], tuple[float, int]]:
    """(sku, sku) sorted -> (lift, count) over stored edges, whichever direction survived the cap."""
    pairs: dict[tuple[str, str], tuple[float, int]] = {}
    for (a, b), edge in _edges(store).items():
        pairs[min(a, b), max(a, b)] = (float(edge["lift"]), int(edge["count"]))
    return pairs


def test_planted_bundles_have_the_highest_lift_and_reruns_replace_edges(
    store: GraphStore, generated: GeneratorReport, tmp_path: Path
) -> None:
    options = LoadOptions(batch_size=2000, rejects_dir=tmp_path / "r", context=RowContext(identity_salt="s"))
    load_dataset(store, _basket_files(generated, tmp_path / "data"), options=options)
    bundles = json.loads((generated.truth_dir / "bundles.json").read_text())
    planted = {(min(b["skus"]), max(b["skus"])) for b in bundles}
    # Pairs seen in at least half as many orders as the rarest bundle: chance pairs of 3-4 orders
    # among ~2,000 can reach a bundle's lift, but not with that support.
    strict = run_copurchase(store, min_count=min(b["orders_with_both"] for b in bundles) // 2)
    pairs = _undirected(store)
    ranked = sorted(pairs, key=lambda k: (-pairs[k][0], -pairs[k][1], k))
    assert planted == set(ranked[: len(planted)]), [(k, pairs[k]) for k in ranked[:10]]

    report = run_copurchase(store)  # defaults: min_count 3
    pairs = _undirected(store)
    for bundle in bundles:
        lift, count = pairs[min(bundle["skus"]), max(bundle["skus"])]
        assert lift >= bundle["lift_min"] and count <= bundle["orders_with_both"], bundle
    assert report.pairs_written > strict.pairs_written

    again = run_copurchase(store)
    edges = _edges(store)
    assert len(edges) == report.pairs_written == again.pairs_written
    assert {e["runId"] for e in edges.values()} == {again.run_id}
    assert {v[2] for v in _communities(store).values()} == {again.run_id}
    records, _, _ = store.driver.execute_query(
        "MATCH (r:AnalyticsRun {kind: 'copurchase'}) RETURN r.runId AS id, r.status AS status, "
        "r.timings AS timings, r.inputSizes AS sizes, r.counts AS counts ORDER BY r.startedAt"
    )
    assert [r["id"] for r in records] == [strict.run_id, report.run_id, again.run_id]
    for r in records:
        assert r["status"] == "done"
        assert set(json.loads(r["timings"])) == {"projection", "compute", "write"}
        assert json.loads(r["sizes"])["orders"] == report.orders
    assert json.loads(records[-1]["counts"])["edges_written"] == again.pairs_written

"""Product and insight reads on small graphs built by the real loaders and analytics.

The shop: u1 bought P01..P22 one a day (P01 first), so its 20 seeds are P03..P22 and P01, P02 are
bought but no seed. Other shoppers pair P22+P01, P22+X1, P10+X1, P10+X2, P21+P20 and P01+X3.
u2 (opted out of personalisation) and u3 (allows it) bought the same: P22, then X1. u4 bought
nothing. Y sits on three lines in each of two orders, so line counts overstate its orders.
s01..s08 form two friend groups for influence and social communities.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from personagraph.graph.analytics import insights
from personagraph.graph.analytics.copurchase import run_copurchase
from personagraph.graph.analytics.influence import run_influence
from personagraph.graph.analytics.insights import (
    InsightInputError,
    analytics_runs,
    communities,
    get_communities,
    get_personas,
    get_run,
    influencers,
    personas,
)
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.analytics.social_communities import run_social_communities
from personagraph.graph.errors import NotFoundError
from personagraph.graph.products import read as products
from personagraph.graph.products.read import CrossSell, ProductInputError, cross_sell, get_products
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset

DAY0 = datetime(2025, 1, 1, 12, tzinfo=UTC)
HISTORY = [f"P{i:02d}" for i in range(1, 23)]  # u1's purchases, oldest first
PAIRS = [("P22", "P01", 3), ("P22", "X1", 3), ("P10", "X1", 2), ("P10", "X2", 2), ("P21", "P20", 2)]
PAIRS += [("P01", "X3", 2)]
GROUPS = {"Shanghai": ["s01", "s02", "s03", "s04"], "Beijing": ["s05", "s06", "s07", "s08"]}
FRIENDS = [("s01", "s02"), ("s01", "s03"), ("s01", "s04"), ("s02", "s03")]
FRIENDS += [("s05", "s06"), ("s05", "s07"), ("s06", "s07"), ("s07", "s08")]


def _at(days: int) -> str:
    return (DAY0 + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order_lines() -> list[str]:
    lines = [f"o-u1-{i},u1,{sku},{_at(i)},1,10.00" for i, sku in enumerate(HISTORY)]
    n = 0
    for a, b, times in PAIRS:
        for _ in range(times):
            n += 1
            lines += [f"o-f{n},f{n},{a},{_at(40)},1,10.00", f"o-f{n},f{n},{b},{_at(40)},1,10.00"]
    lines += [f"o-t{k},f{k + 1},T,{_at(50)},1,5.00" for k in range(5)]
    lines += [f"o-y{k},f{k + 1},Y,{_at(51)},{q},5.00" for k in range(2) for q in (1, 2, 3)]
    for user in ("u2", "u3"):
        lines += [f"o-{user}-1,{user},P22,{_at(60)},1,10.00", f"o-{user}-2,{user},X1,{_at(61)},1,10.00"]
    return lines


def _write_shop(folder: Path) -> Path:
    folder.mkdir()
    skus = [*HISTORY, "X1", "X2", "X3", "T", "Y"]
    product_rows = [f"{s},Item {s},Acme,Home/Kitchen/Pans,12.50,cny" for s in skus]
    product_rows[-5] = "X1,Garden shears,Beta,Garden/Tools,30.00,cny"
    (folder / "products.csv").write_text(
        "sku,name,brand,category,price,currency\n" + "\n".join([*product_rows, "Z,,,,,"]) + "\n"
    )
    users = ["u1,false,", "u2,true,", "u3,false,", "u4,,"] + [f"f{k},," for k in range(1, 20)]
    users += [f"{u},,{city}" for city, group in GROUPS.items() for u in group]
    (folder / "users.csv").write_text("user_id,personalization_opt_out,city\n" + "\n".join(users) + "\n")
    (folder / "orders.csv").write_text(
        "order_id,user_id,sku,ordered_at,quantity,unit_price\n" + "\n".join(_order_lines()) + "\n"
    )
    (folder / "ties.csv").write_text(
        "src_user_id,dst_user_id,kind\n" + "".join(f"{a},{b},friend\n" for a, b in FRIENDS)
    )
    return folder


@pytest.fixture
def shop(store: GraphStore, tmp_path: Path) -> GraphStore:
    reports = load_dataset(
        store, _write_shop(tmp_path / "shop"), options=LoadOptions(rejects_dir=tmp_path / "r")
    )
    assert all(r.rejected == 0 for r in reports), [r.as_dict() for r in reports]
    run_copurchase(store, min_count=2, min_lift=0.0)
    return store


def _edges(store: GraphStore) -> dict[tuple[str, str], dict[str, Any]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (a:Product)-[r:BOUGHT_WITH]->(b:Product) RETURN a.sku AS a, b.sku AS b, properties(r) AS r"
    )
    return {(r["a"], r["b"]): r["r"] for r in records}


def _expected_personal(store: GraphStore, seeds: list[str], bought: set[str]) -> list[tuple[str, float, str]]:
    """(sku, score, strongest seed) by brute force over the stored edges."""
    scores: dict[str, list[tuple[float, str]]] = {}
    for (a, b), edge in _edges(store).items():
        if a in seeds and b not in seeds and b not in bought:
            scores.setdefault(b, []).append((edge["lift"] * edge["confidence"], a))
    ranked = [(sku, sum(p for p, _ in parts), max(parts)[1]) for sku, parts in scores.items()]
    return sorted(ranked, key=lambda x: (-x[1], x[0]))


# --- products ------------------------------------------------------------------------------------


def test_get_products_keeps_input_order_and_reads_brand_category_and_community(shop: GraphStore) -> None:
    found = get_products(shop, skus=["X1", "nope", "P01", "Z", "X1"])
    assert list(found) == ["X1", "P01", "Z"]
    x1 = found["X1"]
    assert (x1.name, x1.price, x1.currency, x1.brand) == ("Garden shears", 30.0, "CNY", "Beta")
    assert (x1.category_path, x1.category_id) == (["Garden", "Tools"], "Garden/Tools")
    assert found["P01"].category_path == ["Home", "Kitchen", "Pans"]
    assert found["P01"].category_id == "Home/Kitchen/Pans"
    records, _, _ = shop.driver.execute_query(
        "MATCH (p:Product) WHERE p.sku IN ['X1', 'P01'] RETURN p.sku AS sku, p.productCommunity AS c"
    )
    assert {r["sku"]: r["c"] for r in records} == {"X1": x1.community_id, "P01": found["P01"].community_id}
    assert x1.community_id is not None and x1.community_id.startswith("product-")
    z = found["Z"]
    assert (z.name, z.price, z.brand, z.category_path, z.category_id, z.community_id) == (
        None,
        None,
        None,
        [],
        None,
        None,
    )
    assert get_products(shop, skus=[]) == {}


def test_a_product_page_without_details_has_the_same_partners_and_no_category_walk(shop: GraphStore) -> None:
    full = products.product_page(shop, sku="P22", first=5)
    lean = products.product_page(shop, sku="P22", first=5, details=False)
    assert full is not None and lean is not None and full.pairs
    assert (full.complete, lean.complete) == (True, False)
    assert lean.pairs == full.pairs
    assert lean.product == products.ProductInfo(
        sku="P22", name=full.product.name, price=full.product.price, currency=full.product.currency
    )
    assert full.product.category_path  # what the lean read leaves out is there to leave out
    assert products.product_page(shop, sku="nope", first=5, details=False) is None
    # without partners there is nothing to skip: the details are read
    assert products.product_page(shop, sku="P22", first=0, details=False) == full.model_copy(
        update={"pairs": []}
    )


def test_cross_sell_for_a_product_follows_its_edges(shop: GraphStore) -> None:
    edges = _edges(shop)
    result = cross_sell(shop, sku="P22")
    assert (result.personalised, result.based_on) == (False, ["P22"])
    expected = sorted(
        ((b, e) for (a, b), e in edges.items() if a == "P22"),
        key=lambda x: (-x[1]["lift"], -x[1]["count"], x[0]),
    )
    assert [i.sku for i in result.items] == [b for b, _ in expected] == ["P01", "X1"]
    for item, (_, edge) in zip(result.items, expected, strict=True):
        assert item.score == item.lift == pytest.approx(edge["lift"])
        assert (item.count, item.confidence) == (edge["count"], pytest.approx(edge["confidence"]))
        assert item.reason == f"bought with P22 in {edge['count']} orders (lift {edge['lift']:.1f})"
    assert [i.sku for i in cross_sell(shop, sku="P22", first=1).items] == [result.items[0].sku]
    assert cross_sell(shop, sku="P05").items == []  # bought, but never with anything


def test_personalised_cross_sell_uses_recent_seeds_and_leaves_out_what_was_bought(shop: GraphStore) -> None:
    result = cross_sell(shop, user_id="u1")
    seeds = HISTORY[::-1][:20]  # most recent first: P22 .. P03
    assert (result.personalised, result.based_on) == (True, seeds)
    expected = _expected_personal(shop, seeds, set(HISTORY))
    # P01 (a strong partner of P22) was bought, X3 only goes with P01 (no seed), P20/P21 are seeds
    assert [i.sku for i in result.items] == [sku for sku, _, _ in expected]
    assert {i.sku for i in result.items} == {"X1", "X2"}
    for item, (_, score, seed) in zip(result.items, expected, strict=True):
        assert item.score == pytest.approx(score) and item.reason.startswith(f"bought with {seed} in ")
    x1 = next(i for i in result.items if i.sku == "X1")  # with P10 and P22
    assert x1.reason.endswith("and with 1 more of the products this is based on")

    with_sku = cross_sell(shop, user_id="u1", sku="P01")  # a given sku seeds too, even if bought long ago
    assert with_sku.based_on == ["P01", *seeds]
    assert "X3" in [i.sku for i in with_sku.items]
    assert [i.sku for i in cross_sell(shop, user_id="u1", first=1).items] == [expected[0][0]]


def test_opted_out_history_never_shapes_suggestions(shop: GraphStore) -> None:
    # u3 bought exactly what u2 bought and allows personalisation: its list differs, so u2's would too
    twin = cross_sell(shop, user_id="u3", sku="P22")
    assert twin.personalised and twin.based_on == ["P22", "X1"]
    assert "X1" not in [i.sku for i in twin.items]

    opted_out = cross_sell(shop, user_id="u2", sku="P22")
    assert opted_out == cross_sell(shop, sku="P22") != twin
    assert "X1" in [i.sku for i in opted_out.items]  # bought by u2, still suggested: history unused

    best = cross_sell(shop, user_id="u2")
    assert best == cross_sell(shop, user_id="u4")  # same as a user who bought nothing
    assert (best.personalised, best.based_on) == (False, [])
    assert cross_sell(shop, user_id="u3").personalised


def test_best_sellers_count_distinct_orders_not_lines(
    shop: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    records, _, _ = shop.driver.execute_query(
        "MATCH (p:Product)<-[:CONTAINS]-(o:Order) WITH p, count(DISTINCT o) AS n "
        "RETURN p.sku AS sku, n ORDER BY n DESC, sku LIMIT 4"
    )
    expected = [(r["sku"], r["n"]) for r in records]
    assert expected == [("P22", 9), ("X1", 7), ("P01", 6), ("P10", 5)]
    wide = cross_sell(shop, user_id="u4", first=4)
    monkeypatch.setattr(products, "POOL_MARGIN", 0)  # Y (6 lines, 2 orders) is in the first pool of 4
    narrow = cross_sell(shop, user_id="u4", first=4)
    assert narrow == wide
    assert [(i.sku, i.count) for i in wide.items] == expected
    total = 5 + 2 + 22 + 4 + sum(t for _, _, t in PAIRS)
    top = wide.items[0]
    assert (top.score, top.confidence, top.lift) == (pytest.approx(9 / total), pytest.approx(9 / total), 1.0)
    assert top.reason == f"popular: in 9 of {total} orders"


def test_cross_sell_refuses_bad_input_and_names_what_is_missing(shop: GraphStore) -> None:
    with pytest.raises(ProductInputError, match="give sku, userId or both"):
        cross_sell(shop)
    for first in (0, 101):
        with pytest.raises(ProductInputError, match="first"):
            cross_sell(shop, sku="P01", first=first)
    with pytest.raises(NotFoundError, match="nope"):
        cross_sell(shop, sku="nope")
    with pytest.raises(NotFoundError, match="ghost"):
        cross_sell(shop, user_id="ghost", sku="P01")
    for user in ("u1", "u2", "u4"):  # personalised, opted out, no history: the sku is checked on each path
        with pytest.raises(NotFoundError, match="nope"):
            cross_sell(shop, user_id=user, sku="nope")
    assert isinstance(cross_sell(shop, sku="P01", first=100), CrossSell)


# --- communities and influencers -----------------------------------------------------------------


def test_communities_by_kind_and_influencers_by_community(shop: GraphStore) -> None:
    influence = run_influence(shop)
    social = run_social_communities(shop, min_size=3)
    assert social.communities == 2
    found = communities(shop, kind="social")
    assert [c.size for c in found] == [4, 4] and found[0].community_id < found[1].community_id
    assert {c.top_city for c in found} == set(GROUPS)
    assert all(c.kind == "social" and c.run_id == social.run_id for c in found)
    assert all(c.computed_at is not None and c.computed_at.tzinfo is not None for c in found)
    assert [c.community_id for c in communities(shop, kind="social", first=1)] == [found[0].community_id]

    product = communities(shop, kind="product")
    assert product and all(c.kind == "product" and c.community_id.startswith("product-") for c in product)
    assert all(c.top_city is None and c.top_tags == [] and c.top_categories for c in product)
    assert [c.size for c in product] == sorted((c.size for c in product), reverse=True)
    wanted = [product[0].community_id, "nope", found[1].community_id]
    assert list(get_communities(shop, community_ids=wanted)) == [wanted[0], wanted[2]]
    assert get_communities(shop, community_ids=wanted)[wanted[2]] == found[1]

    records, _, _ = shop.driver.execute_query(
        "MATCH (u:User) RETURN u.userId AS id, u.influenceRank AS rank, u.socialCommunity AS c"
    )
    rank = {r["id"]: r["rank"] for r in records}
    top = influencers(shop, first=5)
    assert [rank[u.user_id] for u in top] == [1, 2, 3, 4, 5]
    assert top[0].user_id == influence.top[0][0]
    group = found[0].community_id
    members = {r["id"] for r in records if r["c"] == group}
    inside = influencers(shop, community_id=group)
    assert {u.user_id for u in inside} == members and len(members) == 4
    assert [rank[u.user_id] for u in inside] == sorted(rank[m] for m in members)
    assert influencers(shop, community_id="nope") == []


def test_insight_reads_refuse_bad_input(store: GraphStore) -> None:
    with pytest.raises(InsightInputError, match="kind"):
        communities(store, kind="brand")
    for first in (0, 501):
        with pytest.raises(InsightInputError, match="first"):
            communities(store, first=first)
        with pytest.raises(InsightInputError, match="first"):
            influencers(store, first=first)
        with pytest.raises(InsightInputError, match="first"):
            analytics_runs(store, first=first)
    assert communities(store, kind="product", first=500) == [] and influencers(store, first=500) == []


# --- personas ------------------------------------------------------------------------------------


def _create_personas(store: GraphStore, run_id: str, at: datetime, sizes: list[int]) -> None:
    rows = [
        {
            "personaId": f"persona-{i + 1}",
            "name": f"{run_id} {i + 1}",
            "description": "d",
            "size": s,
            "firstRunId": run_id,
            "centroid": [float(s)],
        }
        for i, s in enumerate(sizes)
    ]
    store.write("analytics/write/create_personas", rows=rows, features=["size"], runId=run_id, computedAt=at)


def test_personas_list_only_the_latest_run_and_look_up_by_id(store: GraphStore) -> None:
    assert personas(store) == []
    _create_personas(store, "old", DAY0, [5, 50, 7, 9])
    _create_personas(store, "new", DAY0 + timedelta(days=1), [10, 30, 20])  # old not yet removed
    listed = personas(store)
    assert [(p.persona_id, p.size, p.run_id) for p in listed] == [
        ("persona-2", 30, "new"),
        ("persona-3", 20, "new"),
        ("persona-1", 10, "new"),
    ]
    assert listed[0].name == "new 2" and listed[0].computed_at == DAY0 + timedelta(days=1)
    by_id = get_personas(store, persona_ids=["persona-4", "nope", "persona-1"])
    assert list(by_id) == ["persona-4", "persona-1"]
    assert (by_id["persona-1"].run_id, by_id["persona-4"].run_id) == ("new", "old")
    assert get_personas(store, persona_ids=[]) == {}


# --- analytics runs ------------------------------------------------------------------------------


def test_runs_newest_first_with_json_decoded(shop: GraphStore) -> None:
    with pytest.raises(RuntimeError), analytics_run(shop, "influence", {"damping": 0.5}):
        raise RuntimeError("boom")
    shop.write(
        "analytics/write/create_run",
        runId="manual",
        kind="segments",
        parameters=json.dumps({"asOf": "2025-01-01"}),
        startedAt=datetime.now(UTC) + timedelta(seconds=1),
    )
    runs = analytics_runs(shop)
    assert [r.kind for r in runs] == ["segments", "influence", "copurchase"]
    running, failed, done = runs
    assert (running.run_id, running.status, running.finished_at, running.seconds) == (
        "manual",
        "running",
        None,
        None,
    )
    assert running.parameters == {"asOf": "2025-01-01"} and running.counts == running.timings == {}
    assert (failed.status, failed.error, failed.parameters) == (
        "failed",
        "RuntimeError: boom",
        {"damping": 0.5},
    )
    assert done.status == "done" and done.error is None
    assert done.parameters == {
        "min_count": 2,
        "min_support": 0.0,
        "min_lift": 0.0,
        "max_pairs": 20,
        "engine": "python",
    }
    assert done.input_sizes["products"] == 27 and set(done.timings) == {"projection", "compute", "write"}
    assert done.counts["edges_written"] == len(_edges(shop))
    assert done.finished_at is not None and done.finished_at.tzinfo is not None
    assert done.seconds == pytest.approx((done.finished_at - done.started_at).total_seconds(), abs=1e-3)
    assert get_run(shop, run_id=done.run_id) == done and get_run(shop, run_id="nope") is None
    assert [r.run_id for r in analytics_runs(shop, kind="copurchase")] == [done.run_id]
    assert [r.run_id for r in analytics_runs(shop, first=1)] == ["manual"]
    assert insights.analytics_runs(shop, kind="nothing") == []

"""RFM, tiers and personas: exact on hand-made data; the planted night owls found in generated data."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from personagraph.graph.analytics import insights
from personagraph.graph.analytics.lifecycle import TIER_RULES, TIERS, assign_tiers, tier_inputs
from personagraph.graph.analytics.personas import MOTTOS, Feature, FeatureMatrix, describe, run_personas
from personagraph.graph.analytics.rfm import Rfm, quintile_scores
from personagraph.graph.analytics.segments import run_segments
from personagraph.graph.analytics.user_features import UserOrders
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset

PERSONA_FILES = (
    "channels.csv",
    "products.csv",
    "users.csv",
    "tags.csv",
    "user_tags.csv",
    "orders.csv",
    "events.csv",
)
AS_OF = datetime(2025, 6, 30, tzinfo=UTC)
# user -> (order count, spend per order, last order date); earlier orders fall a week apart before it.
BUYERS = {
    "u01": (5, 40.0, "2025-06-28"),
    "u02": (4, 25.0, "2025-06-10"),
    "u03": (3, 50.0, "2025-05-01"),
    "u04": (3, 40.0, "2025-02-01"),
    "u05": (2, 30.0, "2025-06-25"),
    "u06": (2, 35.0, "2025-04-01"),
    "u07": (1, 30.0, "2025-06-01"),
    "u08": (1, 10.0, "2024-10-01"),  # written as 2 x 5.00, so quantity counts
    "u09": (1, 40.0, "2025-01-01"),
    "u10": (1, 20.0, "2024-09-01"),
}
# user -> (rfmScore, lifecycle) with as_of = 2025-06-30
EXPECTED = {
    "u01": ("555", "core"),
    "u02": ("454", "core"),
    "u03": ("345", "loyal"),
    "u04": ("244", "dormant"),
    "u05": ("533", "occasional"),
    "u06": ("333", "occasional"),
    "u07": ("412", "potential"),
    "u08": ("111", "dormant"),
    "u09": ("212", "dormant"),
    "u10": ("111", "dormant"),
    "u11": ("000", "prospect"),
    "u12": ("000", "new"),  # acquired ten days before as_of: new beats prospect
    "u13": ("000", "prospect"),  # no acquisition, no orders: never "new"
}


def _write_small_dataset(folder: Path) -> Path:
    folder.mkdir()
    (folder / "channels.csv").write_text("channel_id,name,kind\nweb,Web,online\napp,App,online\n")
    (folder / "products.csv").write_text("sku,name,brand,category,price\nP1,Thing,Acme,Home/Decor,99.00\n")
    users = ["user_id,acquired_via,acquired_at"]
    users += [f"u{i:02d},web,2024-01-01T00:00:00Z" for i in range(1, 12)]
    users += ["u12,app,2025-06-20T00:00:00Z", "u13,,"]
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    orders = ["order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id"]
    for user, (count, spend, last) in BUYERS.items():
        for k in range(count):
            day = datetime.fromisoformat(last).replace(hour=12, tzinfo=UTC).timestamp() - 7 * 86400 * k
            at = datetime.fromtimestamp(day, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            qty, price = (2, spend / 2) if user == "u08" else (1, spend)
            orders.append(f"o-{user}-{k},{user},P1,{at},{qty},{price:.2f},web")
    (folder / "orders.csv").write_text("\n".join(orders) + "\n")
    return folder


def _load(store: GraphStore, folder: Path, tmp_path: Path, *, clean: bool = True) -> None:
    options = LoadOptions(batch_size=1000, rejects_dir=tmp_path / "r", context=RowContext(identity_salt="s"))
    reports = load_dataset(store, folder, options=options)
    assert not clean or all(r.rejected == 0 for r in reports), [r.as_dict() for r in reports]


def _user_segments(store: GraphStore) -> dict[str, tuple[str, str, str]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) "
        "RETURN u.userId AS id, u.rfmScore AS score, u.lifecycle AS tier, u.segmentRunId AS run"
    )
    return {r["id"]: (r["score"], r["tier"], r["run"]) for r in records}


def _run_statuses(store: GraphStore) -> list[str]:
    records, _, _ = store.driver.execute_query("MATCH (r:AnalyticsRun) RETURN r.status AS status")
    return [r["status"] for r in records]


def test_quintiles_are_exact_for_distinct_values_and_equal_for_ties() -> None:
    buyers = np.ones(10, dtype=np.bool_)
    assert quintile_scores(np.arange(10.0)[::-1], buyers).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    ties = np.asarray([1.0, 1, 1, 1, 2, 2, 3, 3, 4, 5, 0])
    assert quintile_scores(ties, ties > 0).tolist() == [1, 1, 1, 1, 3, 3, 4, 4, 5, 5, 0]


def test_tier_rules_give_every_user_exactly_the_first_rule_it_meets() -> None:
    grid = np.asarray(list(product(range(6), range(6), range(6), (5.0, 100.0, 400.0), (2.0, 40.0))))
    n, now = len(grid), AS_OF.timestamp()
    buyer = grid[:, 1] > 0
    orders = UserOrders(
        ids=np.arange(n, dtype=np.int64),
        orders=grid[:, 1].astype(np.int64),
        spend=grid[:, 2],
        first_order_at=np.where(buyer, now - grid[:, 4] * 86400, np.nan),
        last_order_at=np.where(buyer, now - grid[:, 3] * 86400, np.nan),
        acquired_at=now - grid[:, 4] * 86400,
        acquired_via=np.full(n, -1),
        last_via=np.full(n, -1),
    )
    scores = grid[:, :3].astype(np.int64) * buyer[:, None]
    inputs = tier_inputs(orders, Rfm(scores[:, 0], scores[:, 1], scores[:, 2]), AS_OF)
    with np.errstate(invalid="ignore"):
        matches = np.column_stack([rule(inputs) for _, rule in TIER_RULES])
    assert matches[:, -1].all()  # the last rule is the catch-all, so no user is left without a tier
    tiers = assign_tiers(inputs)
    assert tiers.tolist() == [TIERS[i] for i in matches.argmax(axis=1)]  # one tier each: the first match
    assert set(tiers.tolist()) == set(TIERS)


def test_rfm_and_tiers_on_a_hand_made_dataset(store: GraphStore, tmp_path: Path) -> None:
    _load(store, _write_small_dataset(tmp_path / "small"), tmp_path)
    report = run_segments(store, as_of=AS_OF)
    written = _user_segments(store)
    assert {u: (s, t) for u, (s, t, _) in written.items()} == EXPECTED
    assert {run for _, _, run in written.values()} == {report.run_id}
    assert report.users == 13 and report.buyers == 10
    assert report.tiers == {
        "new": 1, "prospect": 2, "dormant": 4, "core": 2, "loyal": 1, "potential": 1, "occasional": 2,
    }  # fmt: skip
    assert sum(report.tiers.values()) == report.users
    assert report.rfm_scores["000"] == 3 and report.rfm_scores["111"] == 2
    assert _run_statuses(store) == ["done"]


def test_reruns_overwrite_segments_and_replace_personas(store: GraphStore, tmp_path: Path) -> None:
    _load(store, _write_small_dataset(tmp_path / "small"), tmp_path)
    first = run_segments(store, as_of=AS_OF)
    second = run_segments(store, dormant_days=60)  # as_of defaults to the latest order
    assert second.as_of == datetime(2025, 6, 28, 12, tzinfo=UTC) and second.run_id != first.run_id
    written = _user_segments(store)
    assert {run for _, _, run in written.values()} == {second.run_id}
    assert written["u06"][1] == "dormant"  # last order 88 days before as_of > 60
    assert written["u03"][1] == "loyal" and written["u07"][1] == "potential"
    runs = [run_personas(store, k=3) for _ in range(2)]
    assert runs[0].run_id != runs[1].run_id and runs[1].k == 3 and runs[1].silhouettes.keys() == {3}
    records, _, _ = store.driver.execute_query(
        "MATCH (p:Persona) RETURN collect(DISTINCT p.runId) AS runs, count(p) AS n, sum(p.size) AS size"
    )
    assert records[0]["runs"] == [runs[1].run_id] and records[0]["n"] == 3 and records[0]["size"] == 13
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) OPTIONAL MATCH (u)-[h:HAS_PERSONA]->(p:Persona) "
        "RETURN u.userId AS id, count(h) AS links, collect(p.personaId) AS personas, u.persona AS persona"
    )
    assert len(records) == 13
    assert all(r["links"] == 1 and r["personas"] == [r["persona"]] for r in records)
    assert _run_statuses(store) == ["done"] * 4


@pytest.mark.timeout(300)
def test_a_persona_card_says_who_they_are_in_their_own_words() -> None:
    features = (
        *(Feature("rfm", "rfm", n) for n in ("recency", "frequency", "monetary")),
        Feature("category", "category", "Garden"),
        Feature("category", "category", "Books"),
        Feature("channel", "channel", "store"),
        Feature("channel", "channel", "online"),
        Feature("time", "night", "night"),
        Feature("time", "work", "work hours"),
        Feature("activity", "activity", "product events"),
    )
    # Cluster 0: frequent big buyers of books online at night; cluster 1: garden shoppers in store by
    # day; cluster 2: browsers who never ordered.
    night_readers = [5, 5, 5, 0.1, 0.9, 0.0, 1.0, 0.8, 0.1, 3.0]
    gardeners = [3, 2, 2, 0.9, 0.1, 0.8, 0.2, 0.0, 0.6, 2.0]
    browsers = [0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.3, 1.0]
    values = np.asarray([night_readers] * 4 + [gardeners] * 4 + [browsers] * 4, dtype=np.float64)
    labels = np.repeat(np.arange(3), 4)
    readers, garden, browsing = describe(FeatureMatrix(features, values), labels, 3)
    assert readers.motto == f"{MOTTOS['big spenders']} Books is where my money goes.", readers
    assert readers.top_categories == ("Books", "Garden") and readers.top_channels == ("online",)
    assert readers.traits[0].startswith("100% have ordered") and len(readers.traits) > 1
    assert garden.motto.startswith(MOTTOS["shoppers"]) and garden.top_categories == ("Garden", "Books")
    assert garden.top_channels == ("store", "online")
    assert browsing.motto.startswith(MOTTOS["browsers"]) and browsing.traits[0] == "never ordered"
    assert browsing.top_categories == () and browsing.top_channels == ()  # nothing bought, no shares


def test_personas_on_generated_data_find_the_night_owls(store: GraphStore, tmp_path: Path) -> None:
    generated = generate(tmp_path / "gen", users=1500, seed=5, chunk_size=600)
    subset = tmp_path / "subset"  # personas need no identities or ties: skip loading them, for time
    subset.mkdir()
    for name in PERSONA_FILES:
        shutil.copy(generated.out_dir / name, subset / name)
    _load(store, subset, tmp_path, clean=False)  # the generator plants bad rows
    segments = run_segments(store)
    assert sum(segments.tiers.values()) == segments.users
    report = run_personas(store)
    assert 3 <= report.k <= 6 and set(report.silhouettes) == set(range(3, 7))
    assert report.silhouettes[report.k] == max(report.silhouettes.values())
    assert len(report.personas) == report.k and sum(report.sizes.values()) == report.users
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) OPTIONAL MATCH (u)-[:HAS_PERSONA]->(p:Persona) "
        "RETURN u.userId AS id, p.personaId AS persona, u.lifecycle AS tier"
    )
    persona = {r["id"]: r["persona"] for r in records}
    assert len(persona) == report.users and None not in persona.values()
    assert all(r["tier"] in TIERS for r in records)
    cards = {c.persona_id: c for c in insights.personas(store)}  # as the API and console read them
    assert set(cards) == set(report.sizes)
    tops, _, _ = store.driver.execute_query(
        "MATCH (c:Category) WHERE NOT (c)-[:SUBCATEGORY_OF]->() RETURN collect(c.categoryId) AS ids"
    )
    for card in cards.values():
        assert card.motto and any(card.motto.startswith(m) for m in MOTTOS.values()), card
        assert card.traits and all(t in card.description for t in card.traits), card
        assert 1 <= len(card.top_categories) <= 3 and 1 <= len(card.top_channels) <= 3, card
        assert set(card.top_categories) <= set(tops[0]["ids"]), card
    night_personas = {p.persona_id for p in report.personas if "more night activity" in p.description}
    assert night_personas, [p.description for p in report.personas]
    planted = json.loads((generated.truth_dir / "night_browsers.json").read_text())
    loaded = [u for u in planted if u in persona]
    caught = sum(persona[u] in night_personas for u in loaded)
    assert len(loaded) > 30 and caught / len(loaded) > 0.6
    night_members = sum(report.sizes[p] for p in night_personas)
    assert caught / night_members > 0.5  # the night persona is mostly the planted owls, not a catch-all

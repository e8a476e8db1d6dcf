"""Channel attribution: exact figures on a hand-made dataset, revenue that adds up on generated data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from personagraph.graph.analytics.attribution import ChannelStats, channel_stats, run_attribution
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset

ATTRIBUTION_FILES = ("channels.csv", "products.csv", "users.csv", "orders.csv", "ties.csv")
CHANNELS = "channel_id,name,kind\nweb,Web,online\napp,App,online\nref,Referral,referral\nstore,Store,store\n"
USERS = """user_id,acquired_via,acquired_at
a1,web,2024-01-01
a2,web,2024-01-01
a3,app,2024-01-01
a4,ref,2024-01-01
a5,ref,2024-01-01
a6,store,2024-01-01
a7,,
a8,app,2024-01-01
a9,,
"""
# revenue: a1 150 (last via app), a2 80 (store), a3 100 (last order without channel), a4 200 (web),
# a5 120 (app), a6 30 (store), a7 70 (web, but a7 has no acquisition channel); a8, a9 never ordered.
ORDERS = """order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id
o1,a1,P1,2025-01-01,1,100.00,web
o2,a1,P1,2025-03-01,2,25.00,app
o3,a2,P1,2025-02-01,1,80.00,store
o4,a3,P1,2025-01-15,1,40.00,app
o5,a3,P1,2025-04-01,1,60.00,
o6,a4,P1,2025-02-10,1,200.00,web
o7,a5,P1,2025-03-03,1,120.00,app
o8,a6,P1,2025-05-05,1,30.00,store
o9,a7,P1,2025-01-20,1,70.00,web
"""
# a1 -> a4 -> a5 -> a6, a2 -> a5 (a5 has two referrers), a9 -> a3 (a9 has no channel).
TIES = "src_user_id,dst_user_id,kind\n" + "".join(
    f"{a},{b},referred\n" for a, b in (("a1", "a4"), ("a4", "a5"), ("a5", "a6"), ("a2", "a5"), ("a9", "a3"))
)
# channel -> acquiredUsers, buyers, conversionRate, revenue, lastTouchRevenue, referralRevenue
# referral credit: a1 = .5*200 + .25*(120/2) + .125*(30/2) = 116.875; a2 = a4 = .5*60 + .25*15 = 33.75;
# a5 = .5*30 = 15; a9 = .5*100 = 50 (unattributed: a9 has no channel). Money is summed in cents, each
# referrer's credit rounded to the cent, half up (docs/data-format.md, "Money"): a1 = 116.88.
EXPECTED = {
    "web": (2, 2, 1.0, 230.0, 270.0, 116.88 + 33.75),
    "app": (2, 1, 0.5, 100.0, 270.0, 0.0),
    "ref": (2, 2, 1.0, 320.0, 0.0, 33.75 + 15.0),
    "store": (1, 1, 1.0, 30.0, 110.0, 0.0),
}


def _load(store: GraphStore, folder: Path, tmp_path: Path) -> None:
    options = LoadOptions(batch_size=1000, rejects_dir=tmp_path / "r", context=RowContext(identity_salt="s"))
    load_dataset(store, folder, options=options)


def _figures(stats: ChannelStats) -> tuple[int, int, float, float, float, float]:
    return (
        stats.acquired_users,
        stats.buyers,
        stats.conversion_rate,
        stats.revenue,
        stats.last_touch_revenue,
        stats.referral_revenue,
    )


def _assert_figures(channels: list[ChannelStats]) -> None:
    got = {s.channel_id: _figures(s) for s in channels}
    assert got.keys() == EXPECTED.keys()
    for channel, figures in EXPECTED.items():
        assert got[channel] == pytest.approx(figures), channel


def test_attribution_on_a_hand_made_dataset(store: GraphStore, tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    products = "sku,name,brand,category,price\nP1,Thing,Acme,Home/Decor,10.00\n"
    for name, text in (
        ("channels.csv", CHANNELS),
        ("products.csv", products),
        ("users.csv", USERS),
        ("orders.csv", ORDERS),
        ("ties.csv", TIES),
    ):
        (folder / name).write_text(text)
    _load(store, folder, tmp_path)
    report = run_attribution(store)
    _assert_figures(report.channels)
    assert all(s.first_touch_revenue == s.revenue and s.run_id == report.run_id for s in report.channels)
    assert [s.channel_id for s in report.channels] == ["ref", "web", "app", "store"]  # by revenue
    assert report.total_revenue == pytest.approx(750.0)
    assert report.unattributed_first_touch == pytest.approx(70.0)  # a7
    assert report.unattributed_last_touch == pytest.approx(100.0)  # a3's latest order has no channel
    assert report.referral_credit == pytest.approx(116.88 + 33.75 * 2 + 15 + 50)
    assert report.unattributed_referral == pytest.approx(50.0)
    _assert_figures(channel_stats(store))

    again = run_attribution(store)
    assert again.run_id != report.run_id
    assert {s.run_id for s in channel_stats(store)} == {again.run_id}
    records, _, _ = store.driver.execute_query(
        "MATCH (r:AnalyticsRun) RETURN r.kind AS kind, r.status AS status"
    )
    assert [(r["kind"], r["status"]) for r in records] == [("attribution", "done")] * 2


def test_channel_stats_is_empty_before_any_run(store: GraphStore) -> None:
    assert channel_stats(store) == []


@pytest.mark.timeout(300)
def test_attribution_revenue_adds_up_on_generated_data(store: GraphStore, tmp_path: Path) -> None:
    generated = generate(tmp_path / "gen", users=1500, seed=5, chunk_size=600)
    subset = tmp_path / "subset"  # attribution needs no events, identities or tags: skip them, for time
    subset.mkdir()
    for name in ATTRIBUTION_FILES:
        shutil.copy(generated.out_dir / name, subset / name)
    _load(store, subset, tmp_path)
    report = run_attribution(store)
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) OPTIONAL MATCH (u)-[:ACQUIRED_VIA]->(c:Channel) "
        "OPTIONAL MATCH (u)-[:PLACED]->(:Order)-[l:CONTAINS]->(p:Product) "
        "WITH u, c, sum(l.quantity * coalesce(l.unitPrice, p.price)) AS revenue "
        "RETURN sum(CASE WHEN c IS NULL THEN 0 ELSE revenue END) AS acquired, sum(revenue) AS total, "
        "count(c) AS withChannel, sum(CASE WHEN c IS NOT NULL AND revenue > 0 THEN 1 ELSE 0 END) AS buyers"
    )
    truth = records[0]
    channels = report.channels
    assert sum(s.revenue for s in channels) == pytest.approx(truth["acquired"])
    assert report.total_revenue == pytest.approx(truth["total"]) and truth["total"] > 0
    assert sum(s.last_touch_revenue for s in channels) + report.unattributed_last_touch == pytest.approx(
        truth["total"]
    )
    assert sum(s.acquired_users for s in channels) == truth["withChannel"]
    assert sum(s.buyers for s in channels) == truth["buyers"]
    assert all(0.0 <= s.conversion_rate <= 1.0 for s in channels)
    referral = sum(s.referral_revenue for s in channels) + report.unattributed_referral
    assert referral == pytest.approx(report.referral_credit) and report.referral_credit > 0
    by_channel = {s.channel_id: s for s in channels}
    assert by_channel["referral"].acquired_users > 0  # the generator's referral channel is credited too

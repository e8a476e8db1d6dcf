"""Issue 15, day one on real data: analytics and rule tags on tiny graphs shaped like the data that broke
them.

Each test builds the few rows its defect needs (CSV files through the loader) and runs the analysis
against the real Neo4j of the session.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from personagraph.graph.analytics.personas import run_personas
from personagraph.graph.analytics.segments import run_segments
from personagraph.graph.analytics.social_communities import run_social_communities
from personagraph.graph.as_of import resolve_as_of
from personagraph.graph.events.record import record_event
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.graph.tags import parse_rules, refresh_tags
from personagraph.graph.tags.rules import NO_SPEND
from personagraph.loaders.pipeline import LoadOptions, load_dataset

CHANNELS = "channel_id,name,kind\nweb,Web,online\nads,Ads,ads\n"


def _load(store: GraphStore, tmp_path: Path, files: dict[str, str], name: str = "data") -> None:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    options = LoadOptions(
        batch_size=1000, rejects_dir=tmp_path / f"{name}-rejects", context=RowContext(identity_salt="s")
    )
    reports = load_dataset(store, folder, options=options)
    assert all(r.rejected == 0 for r in reports), [r.as_dict() for r in reports]


def _users(store: GraphStore, *fields: str) -> dict[str, dict[str, Any]]:
    records, _, _ = store.driver.execute_query("MATCH (u:User) RETURN u.userId AS id, properties(u) AS props")
    return {r["id"]: {f: r["props"].get(f) for f in fields} for r in records}


# --- item 2: ties for the most recent order ------------------------------------------------------


def test_buyers_tied_at_the_latest_order_share_the_best_recency(store: GraphStore, tmp_path: Path) -> None:
    """All orders on one date: every buyer is as recent as can be (R 5), not R 1, 'dormant', 'lapsed'."""
    users = [f"u{i}" for i in range(1, 9)]
    _load(
        store,
        tmp_path,
        {
            "channels.csv": CHANNELS,
            "products.csv": "sku,name,brand,category,price\nP1,Thing,Acme,Home/Decor,10\n",
            "users.csv": "user_id,acquired_via,acquired_at\n"
            + "".join(f"{u},web,2024-01-01\n" for u in users),
            "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id\n"
            + "".join(f"o{i},u{i},P1,2025-03-01T12:00:00Z,{i},10,web\n" for i in range(1, 7)),
        },
    )
    report = run_segments(store)
    segments = _users(store, "rfmR", "rfmF", "lifecycle")
    buyers = {u: s for u, s in segments.items() if u not in ("u7", "u8")}
    assert {s["rfmR"] for s in buyers.values()} == {5}, segments
    assert {s["rfmF"] for s in buyers.values()} == {1}  # one order each: F ties keep the lowest score
    assert {s["lifecycle"] for s in buyers.values()} == {"potential"}  # recent one-off buyers
    assert report.tiers["dormant"] == 0 and report.tiers["prospect"] == 2
    personas = run_personas(store, k=2)
    assert not [p.name for p in personas.personas if "apsed" in p.name], personas.personas


def test_only_the_tie_at_the_top_moves_up(store: GraphStore, tmp_path: Path) -> None:
    """Distinct last orders keep exact quintiles; the three buyers tied at the latest time all get 5."""
    days = ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06", "2025-01-07"]
    days += ["2025-01-08"] * 3
    _load(
        store,
        tmp_path,
        {
            "channels.csv": CHANNELS,
            "products.csv": "sku,name,brand,category,price\nP1,Thing,Acme,Home/Decor,10\n",
            "users.csv": "user_id,acquired_via,acquired_at\n"
            + "".join(f"u{i:02d},web,2024-01-01\n" for i in range(len(days))),
            "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id\n"
            + "".join(f"o{i},u{i:02d},P1,{d}T12:00:00Z,1,10,web\n" for i, d in enumerate(days)),
        },
    )
    run_segments(store)
    recency = {u: s["rfmR"] for u, s in _users(store, "rfmR").items()}
    assert recency == {
        "u00": 1, "u01": 1, "u02": 2, "u03": 2, "u04": 3, "u05": 3, "u06": 4, "u07": 5, "u08": 5, "u09": 5,
    }  # fmt: skip


# --- item 3: one "as of" for lifecycle tiers and rule tags -----------------------------------------

HISTORIC = {  # orders end on 2024-06-10: an export from the past, judged long after
    "channels.csv": CHANNELS,
    "products.csv": "sku,name,brand,category,price\nP1,Thing,Acme,Home/Decor,10\n",
    "users.csv": "user_id,acquired_via,acquired_at\n"
    "u_fresh,ads,2024-06-01\nu_regular,web,2023-01-01\nu_quiet,web,2023-01-01\n",
    "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id\n"
    "o1,u_fresh,P1,2024-06-10T12:00:00Z,1,10,ads\n"
    "o2,u_regular,P1,2024-03-01T12:00:00Z,1,10,web\no3,u_regular,P1,2024-04-10T12:00:00Z,1,10,web\n"
    "o4,u_quiet,P1,2023-02-01T12:00:00Z,1,10,web\no5,u_quiet,P1,2023-03-01T12:00:00Z,1,10,web\n",
}
HISTORIC_AS_OF = "2024-06-10T12:00:00+00:00"


def _rule(rule_id: str, kind: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rule_id,
        "kind": kind,
        "tag": {"id": rule_id, "name": rule_id, "tier": "behavior"},
        "params": params,
    }


TIME_RULES: dict[str, Any] = {
    "rules": [
        _rule("newbie", "new_customer", {"days": 30}),
        _rule("churn", "churn_risk", {"min_orders": 2, "quiet_days": 180}),
    ]
}


def _rule_tags(store: GraphStore) -> dict[str, set[str]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User)-[h:HAS_TAG {source: 'rule'}]->(t:Tag) "
        "RETURN t.tagId AS tag, collect(u.userId) AS users"
    )
    return {r["tag"]: set(r["users"]) for r in records}


def test_tags_and_lifecycle_judge_historic_data_at_the_same_moment(store: GraphStore, tmp_path: Path) -> None:
    """Neither given an as-of: both judge as of the latest order, not one as of now (all churn-risk)."""
    _load(store, tmp_path, HISTORIC)
    segments = run_segments(store)
    rules = parse_rules(TIME_RULES, source="test")
    refresh = refresh_tags(store, rules=rules)
    assert segments.as_of == refresh.as_of == datetime.fromisoformat(HISTORIC_AS_OF)
    assert segments.as_of_basis == refresh.as_of_basis == "latest order"
    tiers = {u: s["lifecycle"] for u, s in _users(store, "lifecycle").items()}
    assert tiers["u_fresh"] == "new" and tiers["u_quiet"] == "dormant" and tiers["u_regular"] != "new"
    tags = _rule_tags(store)
    assert tags == {"newbie": {"u_fresh"}, "churn": {"u_quiet"}}  # u_regular ordered 61 days before
    assert not tags["churn"] & {u for u, t in tiers.items() if t == "new"}
    # The live path (recordEvent) judges at the same moment: a view re-tags u_regular, who stays unchurned.
    seen = record_event(
        store, user_id="u_regular", kind="view", at="2024-05-01T10:00:00Z", target="P1", rules=rules
    )
    assert (seen.tags_added, seen.tags_removed) == ((), ())
    assert _rule_tags(store) == tags


def test_a_later_behaviour_event_moves_the_default_as_of(store: GraphStore, tmp_path: Path) -> None:
    events = "user_id,kind,at,target,event_id\nu_regular,view,2024-07-01T08:00:00Z,P1,e1\n"
    _load(store, tmp_path, {**HISTORIC, "events.csv": events})
    when = resolve_as_of(store)
    assert (when.at, when.basis) == (datetime(2024, 7, 1, 8, tzinfo=UTC), "latest event")
    assert run_segments(store).as_of == refresh_tags(store, rules=parse_rules(TIME_RULES, source="t")).as_of
    given = datetime(2030, 1, 1, tzinfo=UTC)
    assert (resolve_as_of(store, given).at, resolve_as_of(store, given).basis) == (given, "given")


def test_cli_prints_the_as_of_it_judged_at(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    _load(store, tmp_path, HISTORIC)
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(json.dumps(TIME_RULES), encoding="utf-8")  # JSON is YAML
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["analyze", "segments"])
        assert done.exit_code == 0, done.output
        said = " ".join(done.output.split())
        assert f"lifecycle tiers as of {HISTORIC_AS_OF} (the latest order in the graph)" in said, said
        done = runner.invoke(app, ["tags", "refresh", "--rules", str(rule_file)])
        assert done.exit_code == 0, done.output
        said = " ".join(done.output.split())
        assert f"as of {HISTORIC_AS_OF} (the latest order in the graph)" in said, said
        assert _rule_tags(store) == {"newbie": {"u_fresh"}, "churn": {"u_quiet"}}
        done = runner.invoke(app, ["analyze", "segments", "--as-of", "2030-01-01"])
        assert done.exit_code == 0, done.output
        assert "as of 2030-01-01T00:00:00+00:00 (given)" in " ".join(done.output.split())
        assert set(t["lifecycle"] for t in _users(store, "lifecycle").values()) == {"dormant"}
    finally:
        get_settings.cache_clear()


# --- item 1: rules whose input is missing are skipped, with the reason ---------------------------

LOVES = {"id": "loves-{category}", "name": "Loves {category}", "tier": "preference"}
EVERY_KIND: dict[str, Any] = {
    "rules": [
        _rule("night", "night_activity", {"threshold": 0.5, "min_events": 1}),
        _rule("bargain", "price_sensitive", {"min_orders": 1}),
        _rule("vip", "high_value", {"top_percent": 5}),
        _rule("newbie", "new_customer", {"days": 30}),
        _rule("acquired", "new_customer", {"days": 30, "basis": "acquisition"}),
        _rule("churn", "churn_risk", {"min_orders": 1, "quiet_days": 10}),
        {**_rule("lover", "category_lover", {"threshold": 0.5, "min_orders": 1}), "tag": LOVES},
        _rule("loyal", "brand_loyal", {"threshold": 0.5, "min_orders": 1}),
        _rule("connector", "social_connector", {"min_degree": 1}),
        _rule("influencer", "influencer", {"max_rank": 3}),
    ]
}
NO_PRICES = {  # a review site's purchases: products and orders, not a price anywhere; no events or ties
    "channels.csv": CHANNELS,
    "products.csv": "sku,name,brand,category\nP1,Book,Acme,Books/Novels\nP2,Film,Acme,Films/Drama\n",
    "users.csv": "user_id\n" + "".join(f"u{i:02d}\n" for i in range(20)),
    "orders.csv": "order_id,user_id,sku,ordered_at,quantity\n"
    + "".join(f"o{i},u{i:02d},P{1 + i % 2},2025-03-{1 + i:02d}T12:00:00Z,1\n" for i in range(20))
    + "o99,u00,P1,2024-01-01T12:00:00Z,1\n",
}


def test_rules_without_their_input_are_skipped_with_the_reason(store: GraphStore, tmp_path: Path) -> None:
    """No prices: the top-5% bar is 0 and 'spend >= 0' held for every buyer. Now skipped, and why."""
    _load(store, tmp_path, NO_PRICES)
    report = refresh_tags(store, rules=parse_rules(EVERY_KIND, source="test"))
    reasons = {r.rule_id: r.reason for r in report.rules if r.skipped}
    assert reasons == {
        "night": "no behaviour events (views, clicks, likes, comments, shares, searches)",
        "bargain": "no product has a list price: no discount or cheap product can be told",
        "vip": NO_SPEND,
        "acquired": "no user has an acquisition time (at or before as-of)",
        "lover": NO_SPEND,
        "loyal": NO_SPEND,
        "connector": "no social ties (friends, follows, referrals)",
        "influencer": "no influence ranks: run `persona analyze influence` first",
    }
    assert [r.rule_id for r in report.skipped] == list(reasons)
    tags = _rule_tags(store)
    assert "vip" not in tags  # was all 20 buyers, evidence "spend:0.00"
    assert set(tags) == {"newbie", "churn"}  # what needs only order times still works
    assert tags["newbie"] == {f"u{i:02d}" for i in range(1, 20)}  # u00 first ordered in 2024


def test_a_top_percent_bar_of_zero_tags_only_buyers_who_spent(store: GraphStore, tmp_path: Path) -> None:
    """One priced line among 20 buyers: the 95th percentile is 0, yet those who spent 0 are not high-value."""
    priced = "order_id,user_id,sku,ordered_at,quantity,unit_price\n" + "".join(
        f"o{i},u{i:02d},P1,2025-03-{1 + i:02d}T12:00:00Z,1,{30 if i == 5 else ''}\n" for i in range(20)
    )
    _load(store, tmp_path, {**NO_PRICES, "orders.csv": priced})
    rules = parse_rules({"rules": [_rule("vip", "high_value", {"top_percent": 5})]}, source="test")
    report = refresh_tags(store, rules=rules)
    assert not report.skipped
    assert _rule_tags(store) == {"vip": {"u05"}}


def test_skipped_rules_lose_their_old_tags_and_the_cli_says_why(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    _load(store, tmp_path, {"channels.csv": CHANNELS, "users.csv": "user_id\nu1\nu2\n"})
    store.driver.execute_query(  # a high-value tag from an earlier, wrong refresh
        "MATCH (u:User {userId: 'u1'}) MERGE (t:Tag {tagId: 'vip'}) SET t.name = 'vip', t.tier = 'behavior' "
        "CREATE (u)-[:HAS_TAG {source: 'rule', ruleId: 'vip', weight: 1.0, evidence: ['spend:0.00']}]->(t)"
    )
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(json.dumps(EVERY_KIND), encoding="utf-8")
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["tags", "refresh", "--rules", str(rule_file)])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "skipped vip (high_value): no orders at or before as-of" in said, said
    assert "skipped churn (churn_risk): no orders at or before as-of" in said
    assert "skipped connector (social_connector): no social ties (friends, follows, referrals)" in said
    assert "(now: the graph has no orders or events)" in said
    assert _rule_tags(store) == {}


# --- item 9: users in groups under min_size have no socialCommunity, and docs and API say so ---------

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_users_in_small_groups_have_no_social_community_as_documented(
    store: GraphStore, tmp_path: Path
) -> None:
    """A triangle is a community; a pair and a user without ties get none, counted, as docs and API say."""
    from personagraph.api.schema import schema

    _load(
        store,
        tmp_path,
        {
            "users.csv": "user_id\n" + "".join(f"u{i}\n" for i in range(1, 7)),
            "ties.csv": "src_user_id,dst_user_id,kind\nu1,u2,friend\nu2,u3,friend\nu3,u1,friend\n"
            "u4,u5,follows\n",
        },
    )
    report = run_social_communities(store)
    assert (report.communities, report.without_community) == (1, 3)
    community = {u: s["socialCommunity"] for u, s in _users(store, "socialCommunity").items()}
    assert community == {
        "u1": "social-0",
        "u2": "social-0",
        "u3": "social-0",
        "u4": None,
        "u5": None,
        "u6": None,
    }
    documented = " ".join((DOCS / "analytics.md").read_text(encoding="utf-8").split())
    assert "Every user gets `socialCommunity`" not in documented
    assert "smaller groups (a pair, a user without ties) get **no** `socialCommunity`" in documented
    user_type = schema.get_type_by_name("User")
    described = next(f.description for f in user_type.fields if f.python_name == "community")  # type: ignore[union-attr]
    assert (
        described is not None and "fewer than 3 members" in described and "without social ties" in described
    )


# --- item 8: a persona id keeps meaning one cluster across runs -----------------------------------


def _persona_files(night_users: int) -> dict[str, str]:
    """Three plain groups: home buyers (8, two web orders), vehicle buyers (5, one ads order) and
    night-time browsers (no orders, views at 23:00); only the browsers' number changes between runs."""
    home = [f"h{i}" for i in range(8)]
    vehicle = [f"v{i}" for i in range(5)]
    night = [f"n{i:02d}" for i in range(night_users)]
    orders = "".join(
        f"o-{u}-{m},{u},H1,2025-0{m}-01T12:00:00Z,1,50,web\n" for u in home for m in (5, 6)
    ) + "".join(f"o-{u},{u},V1,2025-04-01T12:00:00Z,1,500,ads\n" for u in vehicle)
    events = "".join(f"{u},view,2025-06-0{d}T23:00:00Z,H1,e-{u}-{d}\n" for u in night for d in range(1, 8))
    return {
        "channels.csv": CHANNELS,
        "products.csv": "sku,name,brand,category,price\nH1,Lamp,Kasa,Home/Decor,50\n"
        "V1,Bike,Voltra,Vehicles/E-bikes,500\n",
        "users.csv": "user_id,acquired_via,acquired_at\n"
        + "".join(f"{u},web,2024-01-01\n" for u in home + vehicle + night),
        "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id\n" + orders,
        "events.csv": "user_id,kind,at,target,event_id\n" + events,
    }


def _group_personas(store: GraphStore) -> dict[str, set[str]]:
    """Persona ids per group (h, v, n): each group must sit in one persona."""
    found: dict[str, set[str]] = {}
    for user, props in _users(store, "persona").items():
        found.setdefault(user[0], set()).add(props["persona"])
    return found


def test_persona_ids_follow_their_cluster_and_retired_ids_are_never_reused(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    _load(store, tmp_path, _persona_files(3), "first")
    run_segments(store)
    first = run_personas(store, k=3)
    assert first.new == ["persona-1", "persona-2", "persona-3"] and not first.retired
    ids = {group: next(iter(p)) for group, p in _group_personas(store).items()}
    assert ids == {"h": "persona-1", "v": "persona-2", "n": "persona-3"}  # numbered by size
    _load(store, tmp_path, _persona_files(12), "more")  # the browsers are now the largest group
    run_segments(store)
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["analyze", "personas"])
    finally:
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    for persona_id in ("persona-1", "persona-2", "persona-3"):
        assert f"{persona_id} kept" in said, said
    assert {g: next(iter(p)) for g, p in _group_personas(store).items()} == ids  # not renumbered by size
    merged = run_personas(store, k=2)
    assert merged.retired, merged  # two groups share a cluster now: at least one persona is gone
    retired = {r.persona_id for r in merged.retired}
    kept = {p.persona_id for p in merged.personas if p.status == "kept"}
    assert kept <= set(ids.values()) and not kept & retired
    split = run_personas(store, k=3)
    assert not {p.persona_id for p in split.personas} & retired  # a retired id never comes back
    assert all(int(i.split("-")[1]) > 3 for i in split.new), split.new  # new clusters, new numbers
    assert all(len(p) == 1 for p in _group_personas(store).values())
    records, _, _ = store.driver.execute_query("MATCH (r:RetiredPersona) RETURN collect(r.personaId) AS ids")
    assert retired <= set(records[0]["ids"])

"""The tag engine on a real Neo4j: taxonomy, manual tags, every rule kind, real-time re-evaluation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from personagraph.graph.analytics.influence import run_influence
from personagraph.graph.errors import NotFoundError
from personagraph.graph.events.record import EventInputError, record_event, record_order
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.graph.tags import (
    DEFAULT_RULES,
    RuleFileError,
    RuleSet,
    TagInputError,
    find_tags,
    latest_order_time,
    list_tags,
    load_rules,
    parse_rules,
    refresh_tags,
    tag_user,
    untag_user,
    upsert_tag,
)
from personagraph.graph.tags.rules import KINDS
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.graph_support import behaviour_totals_drift

AS_OF = datetime(2025, 6, 30, 12, tzinfo=UTC)
FILES = {
    "channels.csv": "channel_id,name,kind\nweb,Web,online\nads,Ads,ads\n",
    "products.csv": "sku,name,brand,category,price\n"
    "V1,Bike,Voltra,Vehicles/E-bikes,2000\nV2,Scooter,Voltra,Vehicles/Scooters,1000\n"
    "V3,Helmet,Rida,Vehicles/Accessories,100\nV4,Lock,Rida,Vehicles/Accessories,50\n"
    "H1,Kettle,Kasa,Home/Kitchen,200\nH2,Lamp,Kasa,Home/Decor,300\nH3,Mug,Kasa,Home/Kitchen,20\n"
    "H4,Rug,Lumo,Home/Decor,500\n",
    "users.csv": "user_id,acquired_via,acquired_at\n"
    + "".join(f"u_{u},web,2024-01-01\n" for u in ("owl", "day", "thrift", "churn", "hub", "star", "loyal"))
    + "u_vip,ads,2023-06-01\nu_new,ads,2025-06-01\n",
    "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id\n"
    "o1,u_thrift,V3,2025-05-01T12:00:00Z,1,80,web\no2,u_thrift,H3,2025-05-10T12:00:00Z,1,20,web\n"
    "o3,u_thrift,H4,2025-05-20T12:00:00Z,1,500,web\no4,u_vip,V1,2025-03-01T12:00:00Z,1,2000,ads\n"
    "o5,u_vip,V2,2025-04-01T12:00:00Z,1,1000,ads\no6,u_vip,V1,2024-01-15T12:00:00Z,1,2000,ads\n"
    "o7,u_new,H2,2025-06-20T12:00:00Z,1,300,ads\no8,u_churn,H4,2024-10-01T12:00:00Z,1,500,web\n"
    "o9,u_churn,H2,2024-11-15T12:00:00Z,1,300,web\no10,u_loyal,H1,2025-02-01T12:00:00Z,1,200,web\n"
    "o11,u_loyal,H3,2025-03-01T12:00:00Z,1,20,web\no12,u_loyal,V3,2025-03-05T12:00:00Z,1,100,web\n",
    "events.csv": "user_id,kind,at,target,event_id\n"
    "u_owl,view,2025-06-01T23:00:00Z,V1,e1\nu_owl,view,2025-06-02T01:00:00Z,V1,e2\n"
    "u_owl,view,2025-06-03T02:30:00Z,V1,e3\nu_owl,click,2025-06-03T22:15:00Z,V2,e4\n"
    "u_owl,view,2025-06-04T14:00:00Z,V1,e5\nu_day,view,2025-06-01T10:00:00Z,H1,e6\n"
    "u_day,view,2025-06-02T11:00:00Z,H1,e7\nu_day,view,2025-06-03T15:00:00Z,H2,e8\n"
    "u_day,search,2025-06-03T16:00:00Z,Kettle,e9\nu_day,view,2025-06-04T23:30:00Z,H2,e10\n",
    "ties.csv": "src_user_id,dst_user_id,kind\nu_hub,u_owl,friend\nu_hub,u_day,friend\n"
    "u_hub,u_star,follows\nu_owl,u_star,follows\nu_day,u_star,follows\nu_new,u_star,follows\n",
}


def _rule(
    rule_id: str, kind: str, tag: str, params: dict[str, Any], ttl: float | None = 30
) -> dict[str, Any]:
    return {
        "id": rule_id,
        "kind": kind,
        "tag": {"id": tag, "name": tag, "tier": "behavior"},
        "ttl_days": ttl,
        "params": params,
    }


RULES: dict[str, Any] = {
    "tags": [{"id": "beh", "name": "Behaviour", "tier": "behavior"}],
    "rules": [
        _rule("night", "night_activity", "night-owl", {"threshold": 0.5, "min_events": 4}),
        _rule("bargain", "price_sensitive", "bargain", {"min_discount": 0.15, "cheap_quantile": 0.25}, 90),
        _rule("vip", "high_value", "vip", {"window_days": 365, "min_amount": 3000}, None),
        _rule("newbie", "new_customer", "newbie", {"days": 30}),
        _rule("churn", "churn_risk", "churn", {"min_orders": 2, "quiet_days": 180}),
        _rule("lover", "category_lover", "loves-{category}", {"threshold": 0.6, "min_orders": 2}),
        _rule("loyal", "brand_loyal", "loyal", {"threshold": 0.6, "min_orders": 2}),
        _rule("connector", "social_connector", "connector", {"min_degree": 3}),
        _rule("influencer", "influencer", "influencer", {"max_rank": 1}),
    ],
}
EXPECTED = {  # tag -> {user: weight}, worked out by hand from FILES
    "night-owl": {"u_owl": 0.8},
    "bargain": {"u_thrift": 0.6667},
    "vip": {"u_vip": 0.5},
    "newbie": {"u_new": 0.6667},
    "churn": {"u_churn": 0.6306},
    "loves-home": {"u_thrift": 0.8667, "u_churn": 1.0, "u_loyal": 0.6875},
    "loves-vehicles": {"u_vip": 1.0},
    "loyal": {"u_vip": 1.0, "u_loyal": 0.6875},
    "connector": {"u_hub": 0.5, "u_star": 0.6667},
    "influencer": {"u_star": 1.0},
}


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(RULES, source="test-rules")


@pytest.fixture
def shop(store: GraphStore, tmp_path: Path) -> GraphStore:
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    reports = load_dataset(store, folder, options=LoadOptions(rejects_dir=tmp_path / "rejects"))
    assert all(r.rejected == 0 for r in reports)
    run_influence(store)
    return store


def _edges(store: GraphStore, source: str | None = "rule") -> dict[tuple[str, str], dict[str, Any]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User)-[h:HAS_TAG]->(t:Tag) WHERE $source IS NULL OR h.source = $source "
        "RETURN u.userId AS user, t.tagId AS tag, properties(h) AS props",
        source=source,
    )
    return {(r["user"], r["tag"]): r["props"] for r in records}


def _holders(edges: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for (user, tag), props in edges.items():
        found.setdefault(tag, {})[user] = props["weight"]
    return found


def test_every_rule_kind_tags_exactly_the_users_it_should(shop: GraphStore, rules: RuleSet) -> None:
    report = refresh_tags(shop, rules=rules, as_of=AS_OF, batch_size=4)  # several batches
    edges = _edges(shop)
    assert {t: sorted(u) for t, u in _holders(edges).items()} == {t: sorted(u) for t, u in EXPECTED.items()}
    for tag, users in EXPECTED.items():
        for user, weight in users.items():
            assert edges[(user, tag)]["weight"] == pytest.approx(weight, abs=1e-4), (user, tag)
    assert report.users == 9 and report.added == sum(len(u) for u in EXPECTED.values())
    owl = edges[("u_owl", "night-owl")]
    assert owl["evidence"] == ["night:4 of 5 events", "viewed:V1 x3 at night", "clicked:V2 x1 at night"]
    assert owl["ruleId"] == "night" and owl["source"] == "rule"
    assert owl["assignedAt"].to_native() == AS_OF
    expires = owl["expiresAt"].to_native()  # ttl from the evaluation (today), not from the past as-of
    assert datetime.now(UTC) + timedelta(days=29) < expires <= datetime.now(UTC) + timedelta(days=30)
    assert "expiresAt" not in edges[("u_vip", "vip")]  # no ttl: never expires
    assert edges[("u_thrift", "bargain")]["evidence"] == [
        "bargains:2 of 3 lines",
        "order:o2 H3 cheapest 25% of Home",
        "order:o1 V3 20% off",
    ]
    assert edges[("u_vip", "vip")]["evidence"] == [
        "spend:3000.00 in 2 orders over 365 days",
        "order:o4 2000.00",
        "order:o5 1000.00",
    ]
    assert edges[("u_new", "newbie")]["evidence"] == ["first order:o7 on 2025-06-20", "10 days before as-of"]
    assert edges[("u_churn", "churn")]["evidence"] == [
        "orders:2",
        "last order:o9 on 2024-11-15 (227 days before as-of)",
    ]
    assert edges[("u_loyal", "loves-home")]["evidence"] == [
        "category:Home 69% of spend (220.00 of 320.00)",
        "order:o11",
        "order:o10",
    ]
    assert edges[("u_loyal", "loyal")]["evidence"] == [
        "brand:Kasa 69% of spend in 2 orders",
        "order:o11",
        "order:o10",
    ]
    assert edges[("u_hub", "connector")]["evidence"] == ["degree:3", "friends:2", "following:1"]
    assert edges[("u_star", "influencer")]["evidence"][0] == "influenceRank:1 of 9"
    tiers = {t.tag_id: t for t in list_tags(shop, tier="behavior", as_of=AS_OF)}
    assert tiers["loves-home"].rule == 3 and tiers["loves-home"].parent_id is None


def _renewed(edges: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Edges without expiresAt, which every refresh renews (ttl from the evaluation)."""
    return {k: {p: v for p, v in e.items() if p != "expiresAt"} for k, e in edges.items()}


def test_refresh_is_idempotent_keeps_manual_tags_and_follows_behaviour(
    shop: GraphStore, rules: RuleSet
) -> None:
    refresh_tags(shop, rules=rules, as_of=AS_OF)
    tag_user(shop, user_id="u_day", tag_id="night-owl", weight=0.3)  # the rule does not hold for u_day
    tag_user(shop, user_id="u_owl", tag_id="night-owl", weight=0.9)  # takes the rule's edge over
    before = _edges(shop, source=None)
    again = refresh_tags(shop, rules=rules, as_of=AS_OF)
    assert (again.added, again.removed, sum(r.updated for r in again.rules)) == (0, 0, 0)
    assert _renewed(_edges(shop, source=None)) == _renewed(before)  # only expiresAt moves on
    assert (
        before[("u_day", "night-owl")]["source"] == "manual"
        and before[("u_day", "night-owl")]["weight"] == 0.3
    )
    assert (
        before[("u_owl", "night-owl")]["source"] == "manual"
        and "evidence" not in before[("u_owl", "night-owl")]
    )

    shop.driver.execute_query("MATCH (:Order {orderId: 'o1'})-[l:CONTAINS]->() DELETE l")  # a bargain gone
    changed = refresh_tags(shop, rules=rules, as_of=AS_OF)
    by_rule = {r.rule_id: r for r in changed.rules}
    assert (by_rule["bargain"].removed, by_rule["lover"].updated, changed.added) == (1, 1, 0)
    after = _edges(shop)
    assert ("u_thrift", "bargain") not in after and after[("u_thrift", "loves-home")]["weight"] == 1.0

    fewer = parse_rules({**RULES, "rules": [r for r in RULES["rules"] if r["id"] != "connector"]}, source="t")
    assert refresh_tags(shop, rules=fewer, as_of=AS_OF).stale_removed == 2  # a dropped rule's tags go
    assert not [k for k in _edges(shop) if k[1] == "connector"]


def test_record_event_retags_that_user_at_once_and_nobody_else(shop: GraphStore, rules: RuleSet) -> None:
    refresh_tags(shop, rules=rules, as_of=AS_OF)
    shop.driver.execute_query(  # u_owl's views and clicks gone, with what they added to u_owl's totals
        "MATCH (u:User {userId: 'u_owl'})-[r:VIEWED|CLICKED]->() "
        "SET u.eventHours = [h IN range(0, 23) | u.eventHours[h] - r.hourCounts[h]] DELETE r "
        "WITH DISTINCT u OPTIONAL MATCH (u)-[e:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() "
        "WITH u, max(e.lastAt) AS last SET u.lastEventAt = last"
    )
    assert behaviour_totals_drift(shop) == []
    nights = [
        ("view", "2025-06-10T23:00:00Z", "H1"),
        ("view", "2025-06-11T00:30:00Z", "H1"),
        ("search", "2025-06-12T22:00:00Z", " Kettle  "),
    ]
    results = [
        record_event(shop, user_id="u_day", kind=k, at=at, target=t, rules=rules, as_of=AS_OF)
        for k, at, t in nights
    ]
    assert [r.tags_added for r in results] == [(), (), ("night-owl",)]  # 2/6, 3/7, then 4/8 at night
    assert results[2].target == "kettle" and results[2].new
    assert ("u_owl", "night-owl") in _edges(shop)  # u_owl was not re-evaluated
    repeat = record_event(
        shop, user_id="u_day", kind="search", at=nights[2][1], target="kettle", rules=rules, as_of=AS_OF
    )
    assert not repeat.new and repeat.tags_added == repeat.tags_removed == ()
    with pytest.raises(NotFoundError, match="user_id: no user with id 'nobody'"):
        record_event(shop, user_id="nobody", kind="view", at=AS_OF, target="H1", rules=rules)
    with pytest.raises(NotFoundError, match="target: no product with id 'P404'"):
        record_event(shop, user_id="u_day", kind="view", at=AS_OF, target="P404", rules=rules)

    order = record_order(
        shop,
        order_id="o20",
        user_id="u_new",
        lines=[("H3", 1, 20.0)],
        ordered_at="2025-06-25T12:00:00Z",
        rules=rules,
        as_of=AS_OF,
    )
    assert order.tags_added == ("loves-home", "loyal") and order.lines == 1
    with pytest.raises(NotFoundError, match="sku: no product with id 'P404'"):
        record_order(
            shop, order_id="o21", user_id="u_new", lines=[("P404", 1, 1.0)], ordered_at=AS_OF, rules=rules
        )
    with pytest.raises(EventInputError, match="order_id: 'o1' was placed by another user") as refused:
        record_order(
            shop, order_id="o1", user_id="u_new", lines=[("H3", 1, 1.0)], ordered_at=AS_OF, rules=rules
        )
    assert "u_thrift" not in str(refused.value)  # the other user is never named
    with pytest.raises(EventInputError, match="event kind: Input should be 'view'"):
        record_event(shop, user_id="u_day", kind="teleport", at=AS_OF, target="H1", rules=rules)
    full = refresh_tags(shop, rules=rules, as_of=AS_OF)
    assert [(c.user_id, c.tag_id) for c in full.changes] == []  # only a per-user refresh lists changes
    assert {r.rule_id: r.removed for r in full.rules}["night"] == 1  # now u_owl's stale tag goes


def test_taxonomy_synonyms_manual_tags_and_errors(store: GraphStore) -> None:
    upsert_tag(store, tag_id="beh", name="Behaviour", tier="behavior")
    tag = upsert_tag(
        store, tag_id="vip", name="VIP", tier="Basic", parent_id="beh", synonyms=["高价值客户", "Big spender"]
    )
    assert tag.tier == "basic" and tag.synonyms == ("高价值客户", "Big spender")
    assert [t.tag_id for t in find_tags(store, "big SPENDER")] == ["vip"]
    store.driver.execute_query("CREATE (:User {userId: 'u1'})")
    assert tag_user(store, user_id="u1", tag_id="高价值客户", weight=0.7).created
    usage = {t.tag_id: t for t in list_tags(store)}
    assert (usage["vip"].users, usage["vip"].manual, usage["vip"].parent_id) == (1, 1, "beh")
    assert [t.tag_id for t in list_tags(store, tier="behavior")] == ["beh"]
    assert untag_user(store, user_id="u1", tag_id="vip").removed == ("manual",)
    with pytest.raises(NotFoundError, match="user_id: no user with id 'u404'"):
        tag_user(store, user_id="u404", tag_id="vip")
    with pytest.raises(NotFoundError, match="tag_id: no tag with id or synonym 'nope'"):
        untag_user(store, user_id="u1", tag_id="nope")
    with pytest.raises(NotFoundError, match="parent_id: no tag 'ghost'"):
        upsert_tag(store, tag_id="x", name="X", tier="basic", parent_id="ghost")
    with pytest.raises(TagInputError, match="parent_id: 'vip' is 'beh' or below it"):
        upsert_tag(store, tag_id="beh", name="Behaviour", tier="behavior", parent_id="vip")
    with pytest.raises(TagInputError, match="synonyms: 'big spender' already names tag 'vip'"):
        upsert_tag(store, tag_id="rich", name="Rich", tier="basic", synonyms=["Big Spender"])
    with pytest.raises(TagInputError, match="tier: 'gold' is not a tag tier; expected one of basic"):
        upsert_tag(store, tag_id="rich", name="Rich", tier="gold")
    with pytest.raises(TagInputError, match=r"weight: 1\.5 is out of range"):
        tag_user(store, user_id="u1", tag_id="vip", weight=1.5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"params": {"threshold": 1.5}},
            r"rule 'night' \(rules\[0\]\): params.threshold: Input should be less",
        ),
        ({"params": {"treshold": 0.5}}, r"rule 'night' \(rules\[0\]\): params.treshold: Extra inputs"),
        ({"kind": "mind_reading"}, r"rule 'night' \(rules\[0\]\): kind: 'mind_reading' is not a rule kind"),
        (
            {"tag": {"id": "x", "tier": "gold", "name": "X"}},
            r"rule 'night' \(rules\[0\]\): tag.tier: Input should be",
        ),
        ({"tag": {"id": "x-{category}", "tier": "basic", "name": "X"}}, r"tag.id: 'x-\{category\}' for kind"),
        (
            {"ttl_days": -1},
            r"rule 'night' \(rules\[0\]\): ttl_days: Input should be greater than 0 \(got -1\)",
        ),
    ],
)
def test_a_bad_rule_is_rejected_naming_the_rule_and_field(change: dict[str, Any], message: str) -> None:
    bad = {**RULES, "rules": [{**RULES["rules"][0], **change}, *RULES["rules"][1:]]}
    with pytest.raises(RuleFileError, match=message):
        parse_rules(bad, source="test-rules")


def test_rule_files_load_and_the_starter_file_covers_every_kind(tmp_path: Path) -> None:
    starter = load_rules(DEFAULT_RULES)
    assert {r.kind for r in starter.rules} == set(KINDS)
    assert {r.tag.tier.value for r in starter.rules} == {"basic", "behavior", "preference"}
    broken = tmp_path / "tags.yaml"
    broken.write_text(
        "rules:\n  - id: late\n    kind: night_activity\n    tag: {id: late, name: Late, tier: behavior}\n"
        "    params: {min_events: many}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        RuleFileError, match=r"rule 'late' \(rules\[0\]\): params.min_events: .* \(got 'many'\)"
    ):
        load_rules(broken)
    with pytest.raises(RuleFileError, match="cannot read the rule file"):
        load_rules(tmp_path / "missing.yaml")


def test_generated_planted_traits_get_their_rule_tags(store: GraphStore, tmp_path: Path) -> None:
    report = generate(tmp_path / "gen", users=1500, seed=5, chunk_size=600)
    options = LoadOptions(batch_size=2000, rejects_dir=tmp_path / "r", context=RowContext(identity_salt="s"))
    load_dataset(store, report.out_dir, options=options)
    run_influence(store)
    refresh_tags(store, rules=DEFAULT_RULES, as_of=latest_order_time(store))
    edges = _holders(_edges(store))
    for tag, truth, recall, precision in (
        ("night-owl", "night_browsers.json", 0.9, 0.7),
        ("price-sensitive", "price_sensitive.json", 0.8, 0.0),
        ("influencer", "influencers.json", 1.0, 0.0),
    ):
        planted = set(json.loads((report.truth_dir / truth).read_text()))
        tagged = set(edges.get(tag, {}))
        hits = len(planted & tagged)
        assert hits / len(planted) >= recall, (tag, hits, len(planted))
        assert hits / max(len(tagged), 1) >= precision, (tag, hits, len(tagged))


def test_cli_lists_and_refreshes(shop: GraphStore, neo4j_env: dict[str, str], tmp_path: Path) -> None:
    from personagraph.cli.tags import tags_app
    from personagraph.graph.settings import get_settings

    get_settings.cache_clear()
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(json.dumps(RULES), encoding="utf-8")  # JSON is YAML
    runner = CliRunner()
    done = runner.invoke(tags_app, ["refresh", "--rules", str(rule_file), "--as-of", AS_OF.isoformat()])
    assert done.exit_code == 0, done.output
    assert ("u_owl", "night-owl") in _edges(shop)
    done = runner.invoke(
        tags_app, ["tag", "u_day", "night-owl", "--weight", "0.4", "--expires", "2030-01-01"]
    )
    assert done.exit_code == 0, done.output
    assert _edges(shop, "manual")[("u_day", "night-owl")]["weight"] == 0.4
    assert runner.invoke(tags_app, ["list", "--tier", "behavior"]).exit_code == 0
    get_settings.cache_clear()


def test_tag_cache_computes_a_missing_entry_once_for_concurrent_callers() -> None:
    import threading
    import time as clock

    from personagraph.graph.tags.engine import TagCache

    cache = TagCache()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        clock.sleep(0.2)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get(("k",), True, slow))) for _ in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 16 and len(calls) == 1
    assert cache.get(("k",), False, lambda: 7) == 7  # reuse=False always recomputes

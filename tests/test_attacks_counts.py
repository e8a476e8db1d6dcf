"""Attacks on counts, member lists, cross-sell and saved audiences (issue 14, holes 1, 2, 5 and 6), each
run through HTTP against the real app and a real Neo4j: the request that would break the rule, and the
assertion that it does not. docs/security.md names the test for each rule."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.graph.analytics.lookalikes import ranked
from personagraph.graph.audit import AuditLog
from personagraph.graph.privacy.k_anonymity import Disclosure
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import AnalysedGraph, GraphQL, Secured, as_role, one, rows, secured

K = 100  # the default floor, which the module's app keeps
API_SETTINGS = {"privacy_count_budget": 0}  # the settings of this module's app (tests/conftest.py keys)

COUNTS = (
    "query($d: AudienceInput!, $p: Purpose!) { audience(definition: $d, purpose: $p) "
    "{ count { value fewerThan exact } excludedByConsent { value fewerThan exact } } }"
)
MEMBERS = (
    "query($d: AudienceInput!, $p: Purpose!) { audience(definition: $d, purpose: $p) "
    "{ members(first: 1000) { edges { node { id } } } } }"
)


def counts(gql: GraphQL, definition: dict[str, Any], purpose: str = "ANALYSIS") -> dict[str, Any]:
    found: dict[str, Any] = gql.data(COUNTS, {"d": definition, "p": purpose})["audience"]
    return found


def rank_at_most(bound: int) -> dict[str, Any]:
    return {"attribute": {"field": "influenceRank", "op": "lte", "value": bound}}


def pad_bound(graph: AnalysedGraph, size: int, where: str = "true") -> int:
    """The rank bound B whose users (matching ``where``) ranked 1..B are exactly ``size``."""
    found = rows(
        graph,
        f"MATCH (u:User) WHERE u.influenceRank IS NOT NULL AND {where} "
        "WITH u.influenceRank AS rank ORDER BY rank WITH collect(rank) AS ranks "
        "UNWIND range(1, size(ranks) - 1) AS i WITH ranks, i WHERE ranks[i - 1] < ranks[i] "
        "RETURN ranks[i - 1] AS bound, i AS n",
    )
    bounds = [r["bound"] for r in found if r["n"] == size]
    assert bounds, f"no rank bound holds exactly {size} users where {where}"
    return int(bounds[0])


# Hole 1: the floor is no oracle at k -----------------------------------------------------------------


def test_the_floor_comes_after_the_noise() -> None:
    """A count just under k is sometimes shown and one at k sometimes not: whether it is shown no longer
    says which side of k the true count is on (the floor tested first: never shown under k)."""
    disclosure = Disclosure(b"k" * 32, k=K, noise=12, round_to=10)
    asked = [(f"definition-{i}", "analysis", "count") for i in range(4000)]
    under = sum(disclosure.shown(K - 1, *a) is not None for a in asked) / len(asked)
    at = sum(disclosure.shown(K, *a) is not None for a in asked) / len(asked)
    assert 0.5 < under < 0.8 and 0.5 < at < 0.8  # about 2/3 of the noise draws either side
    assert abs(at - under) < 0.05


def test_the_noise_has_no_edge_that_proves_one_person() -> None:
    """With noise bounded by +-N, a count of 94 never showed above 110 while 95 could show 120: one
    answer of 120 proved the 95th person. Every value shown from n + 1 must be possible from n."""
    disclosure = Disclosure(b"k" * 32, k=K, noise=12, round_to=10)
    asked = [(f"definition-{i}", "analysis", "count") for i in range(20000)]
    from_94 = Counter(disclosure.shown(94, *a) for a in asked)
    from_95 = Counter(disclosure.shown(95, *a) for a in asked)
    common = [v for v, n in from_95.items() if n >= 50]  # values seen often enough to compare
    assert len(common) >= 5
    assert all(from_94[v] >= from_95[v] / 2 for v in common), sorted(from_95.items(), key=str)


def _floor_edge_accuracy(
    gql: GraphQL, targets: list[dict[str, Any]], tag: str, which: str, purpose: str, k: int = K
) -> float:
    """The attack of issue 14: ``pad or (rank R and tag)`` where pad holds k - 1 users; "shown" means R
    has the tag."""
    right = 0
    for target in targets:
        pinned = {"attribute": {"field": "influenceRank", "op": "eq", "value": target["rank"]}}
        definition = {"or": [target["pad"], {"and": [pinned, {"tag": {"tagId": tag}}]}]}
        value = counts(gql, definition, purpose)[which]["value"]
        right += (value is not None and value >= k) == target["tagged"]
    return right / len(targets)


def _targets(
    graph: AnalysedGraph, tag: str, pad: dict[str, Any], above: int, where: str = "true"
) -> list[dict[str, Any]]:
    """15 people with the tag and 15 without, each with a rank no one else has, ranked below the pad."""
    people = rows(
        graph,
        f"MATCH (u:User) WHERE u.influenceRank > {above} AND {where} "
        "WITH u.influenceRank AS rank, collect(u) AS us WHERE size(us) = 1 WITH rank, us[0] AS u "
        "RETURN rank, EXISTS { (u)-[:HAS_TAG]->(:Tag {tagId: $tag}) } AS tagged ORDER BY rank",
        tag=tag,
    )
    tagged = [p for p in people if p["tagged"]][:15]
    untagged = [p for p in people if not p["tagged"]][:15]
    assert len(tagged) == len(untagged) == 15, (len(tagged), len(untagged))
    return [{**p, "pad": pad} for p in tagged + untagged]


def _common_tag(graph: AnalysedGraph) -> str:
    return str(
        one(
            graph,
            "MATCH (u:User)-[:HAS_TAG]->(t:Tag) WHERE u.influenceRank > 150 AND u.marketingConsent = false "
            "WITH t, count(*) AS n ORDER BY abs(n - 100) RETURN t.tagId AS tag LIMIT 1",
        )["tag"]
    )


def test_the_floor_edge_attack_with_ranks_does_not_single_anyone_out(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    tag = _common_tag(graph)
    bound = pad_bound(graph, K - 1)
    targets = _targets(graph, tag, rank_at_most(bound), max(bound, 150))
    admin = _floor_edge_accuracy(as_role(client, keys, "admin"), targets, tag, "count", "ANALYSIS")
    assert admin == 1.0  # on exact counts the attack reads every tag: the test can tell
    for role in ("analyst", "service"):
        gql = as_role(client, keys, role)
        assert _floor_edge_accuracy(gql, targets, tag, "count", "ANALYSIS") <= 0.7, role


def test_the_floor_edge_attack_on_excluded_by_consent_does_not_single_anyone_out(
    graph: AnalysedGraph, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    """The marketer's version: ``excludedByConsent`` counts the people left out for lack of consent. The
    test graph has too few of them for a pad of 99 and 30 targets, so this app's floor is 20."""
    k = 20
    tag = _common_tag(graph)
    refused = "u.marketingConsent = false"
    bound = pad_bound(graph, k - 1, refused)
    pad = {
        "and": [rank_at_most(bound), {"attribute": {"field": "marketingConsent", "op": "eq", "value": False}}]
    }
    targets = _targets(graph, tag, pad, bound, refused)
    small_floor = secured(tmp_path, api_rate_limit=0, privacy_count_budget=0, privacy_k=k)
    with small_floor.client(neo4j_connection, None) as test_client:
        admin = GraphQL(test_client, small_floor.headers("admin"))
        assert _floor_edge_accuracy(admin, targets, tag, "excludedByConsent", "MARKETING", k) == 1.0
        marketer = GraphQL(test_client, small_floor.headers("marketer"))
        assert _floor_edge_accuracy(marketer, targets, tag, "excludedByConsent", "MARKETING", k) <= 0.7


def test_ranks_are_counted_in_groups_of_k_below_admin(client: TestClient, keys: Secured) -> None:
    """``influenceRank = 57`` and ``maxRank: 99`` ask about ranks 1..100 for roles below admin."""
    definition = {"attribute": {"field": "influenceRank", "op": "eq", "value": 57}}
    read = (
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) "
        "{ definition count { value exact } } }"
    )
    analyst = as_role(client, keys, "analyst").data(read, {"d": definition})["audience"]
    assert analyst["definition"] == {
        "attribute": {"field": "influenceRank", "op": "between", "value": [1, 100]}
    }
    assert analyst["count"]["value"] is not None  # about a hundred people, not one
    admin = as_role(client, keys, "admin").data(read, {"d": definition})["audience"]
    assert admin["definition"] == definition and admin["count"]["value"] <= 2
    top = {"influence": {"maxRank": 99}}
    assert as_role(client, keys, "analyst").data(read, {"d": top})["audience"]["definition"] == {
        "influence": {"maxRank": 100}
    }


@pytest.mark.parametrize(
    ("role", "definition"),
    [
        ("analyst", {"attribute": {"field": "influence", "op": "gte", "value": 0.01}}),
        ("analyst", {"influence": {"minScore": 0.01}}),
        ("service", {"attribute": {"field": "customerId", "op": "eq", "value": "C0001"}}),
        ("marketer", {"attribute": {"field": "customerId", "op": "in", "value": ["C0001", "C0002"]}}),
        ("analyst", {"referralHops": {"userId": "u0000001", "maxHops": 2}}),
        ("analyst", {"prediction": {"field": "churnProbability", "op": "gte", "value": 0.7341}}),
        ("marketer", {"prediction": {"field": "churnProbability", "op": "between", "value": [0.7, 0.7]}}),
        ("service", {"prediction": {"field": "expectedSpend", "op": "lt", "value": 123.45}}),
    ],
)
def test_ids_and_exact_scores_are_refused_below_admin(
    client: TestClient, keys: Secured, role: str, definition: dict[str, Any]
) -> None:
    purpose = "MARKETING" if role == "marketer" else "ANALYSIS"
    error = as_role(client, keys, role).error(COUNTS, {"d": definition, "p": purpose})
    assert error["extensions"]["code"] == "FORBIDDEN" and "single one person out" in error["message"]
    assert as_role(client, keys, "admin").raw(COUNTS, {"d": definition, "p": purpose}).get("errors") is None


def test_whole_steps_of_a_prediction_are_open_below_admin(client: TestClient, keys: Secured) -> None:
    """The audiences predictions are for ("churn probability >= 0.7", spend between 100 and 500) pass."""
    definition = {
        "and": [
            {"prediction": {"field": "churnProbability", "op": "gte", "value": 0.7}},
            {"prediction": {"field": "expectedSpend", "op": "between", "value": [100, 500]}},
        ]
    }
    body = as_role(client, keys, "marketer").raw(COUNTS, {"d": definition, "p": "MARKETING"})
    assert body.get("errors") is None, body


def test_no_breakdown_by_an_id_below_admin(client: TestClient, keys: Secured) -> None:
    query = (
        '{ audience(definition: {attribute: {field: "city", op: "exists"}}, purpose: MARKETING) '
        '{ breakdown(by: "customerId") { value count { value } } } }'
    )
    assert as_role(client, keys, "marketer").code(query) == "FORBIDDEN"
    assert as_role(client, keys, "admin").raw(query).get("errors") is None


# Hole 2: member lists --------------------------------------------------------------------------------


def _member_ids(gql: GraphQL, definition: dict[str, Any], purpose: str) -> set[str]:
    found = gql.data(MEMBERS, {"d": definition, "p": purpose})["audience"]["members"]["edges"]
    return {e["node"]["id"] for e in found}


def test_padding_does_not_list_a_small_audience(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """``members(small or pad)`` minus ``members(pad)`` would list ``small``: refused while any condition
    of the definition matches fewer than k users on its own."""
    city = one(
        graph,
        "MATCH (u:User) WHERE u.city IS NOT NULL WITH u.city AS c, count(*) AS n WHERE n < 30 "
        "RETURN c ORDER BY n DESC LIMIT 1",
    )["c"]
    small = {"attribute": {"field": "city", "op": "eq", "value": city}}
    pad = {"attribute": {"field": "city", "op": "ne", "value": city}}
    admin = as_role(client, keys, "admin")
    recovered = _member_ids(admin, {"or": [small, pad]}, "ANALYSIS") - _member_ids(admin, pad, "ANALYSIS")
    assert recovered and len(recovered) < 30  # the attack lists the small set on an unprotected role
    analyst = as_role(client, keys, "analyst")
    assert counts(analyst, {"or": [small, pad]})["count"]["value"] is not None  # the padded audience is big
    error = analyst.error(MEMBERS, {"d": {"or": [small, pad]}, "p": "ANALYSIS"})
    assert error["extensions"]["code"] == "FORBIDDEN" and "matches fewer than 100" in error["message"]
    negated = analyst.error(MEMBERS, {"d": {"not": small}, "p": "ANALYSIS"})  # everyone but small
    assert negated["extensions"]["code"] == "FORBIDDEN"
    assert len(_member_ids(analyst, pad, "ANALYSIS")) > K  # big conditions alone still list


@pytest.mark.parametrize(
    "tie",
    [
        {"friends": {"atLeast": 1, "who": {"attribute": {"field": "city", "op": "exists"}}}},
        {"followers": {"atLeast": 1}},
        {"referralHops": {"maxHops": 2, "of": {"attribute": {"field": "city", "op": "exists"}}}},
    ],
)
def test_marketers_cannot_walk_ties_in_definitions(
    client: TestClient, keys: Secured, tie: dict[str, Any]
) -> None:
    pad = {"attribute": {"field": "gender", "op": "exists"}}
    for query in (COUNTS, MEMBERS):
        error = as_role(client, keys, "marketer").error(query, {"d": {"or": [tie, pad]}, "p": "MARKETING"})
        assert error["extensions"]["code"] == "FORBIDDEN" and "ties" in error["message"]
    assert as_role(client, keys, "analyst").raw(COUNTS, {"d": tie, "p": "ANALYSIS"}).get("errors") is None


def test_the_members_oracle_is_charged_to_the_count_budget(
    graph: AnalysedGraph, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    """``members(first: 1)`` answering FORBIDDEN or a list says whether the audience is under the floor:
    a count, so it spends the budget like one and is refused once the budget is spent."""
    budget_keys = secured(tmp_path, api_rate_limit=0, privacy_count_budget=2)
    first_page = (
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) "
        "{ members(first: 1) { edges { node { id } } } } }"
    )
    with budget_keys.client(neo4j_connection, "analyst") as test_client:
        analyst = GraphQL(test_client)
        for gender in ("female", "male"):
            analyst.data(first_page, {"d": {"attribute": {"field": "gender", "op": "eq", "value": gender}}})
        probe = {"attribute": {"field": "gender", "op": "ne", "value": "female"}}
        assert analyst.code(first_page, {"d": probe}) == "RATE_LIMITED"
        again = {"attribute": {"field": "gender", "op": "eq", "value": "female"}}
        assert analyst.data(first_page, {"d": again})  # a question already answered stays free


def test_lookalike_reasons_never_name_a_seed(graph: AnalysedGraph) -> None:
    seeds = [
        r["id"]
        for r in rows(
            graph,
            "MATCH (u:User)-[:FRIEND_OF|FOLLOWS|REFERRED]-(v:User) WITH u, count(DISTINCT v) AS d "
            "RETURN u.userId AS id ORDER BY d DESC, id LIMIT 5",
        )
    ]
    found = ranked(graph.store, seed_user_ids=seeds, first=100)
    reasons = [r for f in found for r in f.reasons]
    assert any(r.startswith("tied to") for r in reasons)  # ties to the seeds are among the reasons
    ids = re.compile("|".join(re.escape(s) for s in seeds))
    assert not [r for r in reasons if ids.search(r)]


# Hole 5: cross-sell from someone's purchases ---------------------------------------------------------


def test_marketers_cannot_read_a_users_purchases_through_cross_sell(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    buyer = one(graph, "MATCH (u:User)-[:PLACED]->(:Order) RETURN u.userId AS id ORDER BY id LIMIT 1")["id"]
    query = "query($u: ID!) { crossSell(userId: $u, first: 5) { personalised basedOn } }"
    for user in (buyer, "no-such-user"):
        error = as_role(client, keys, "marketer").error(query, {"u": user})
        assert error["extensions"]["code"] == "FORBIDDEN" and "userId" in error["message"]
    before = len(list(AuditLog(keys.settings.audit_log_path).entries()))
    assert as_role(client, keys, "service").data(query, {"u": buyer})["crossSell"] is not None
    entries = list(AuditLog(keys.settings.audit_log_path).entries())[before:]
    assert [(e.actor, e.action, e.what, e.rows) for e in entries if e.action == "read"] == [
        ("test-service", "read", "crossSell(userId)", 1)
    ]
    sku = one(graph, "MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku LIMIT 1")["sku"]
    by_product = "query($s: ID!) { crossSell(sku: $s, first: 3) { personalised } }"
    assert as_role(client, keys, "marketer").data(by_product, {"s": sku})["crossSell"]  # products stay open


# Hole 6: saved audiences -----------------------------------------------------------------------------

SAVE = (
    "mutation($id: ID!, $d: AudienceInput!, $p: Purpose!, $o: String) "
    '{ saveAudience(id: $id, name: "n", definition: $d, purpose: $p, owner: $o) { id owner } }'
)
HISTORY = "query($id: ID!) { savedAudience(id: $id) { owner history { count { value } } } }"
FEMALE = {"attribute": {"field": "gender", "op": "eq", "value": "female"}}


def test_a_marketer_cannot_save_an_audience_for_a_purpose_without_consent(
    client: TestClient, keys: Secured
) -> None:
    marketer = as_role(client, keys, "marketer")
    assert marketer.code(SAVE, {"id": "m-analysis", "d": FEMALE, "p": "ANALYSIS"}) == "FORBIDDEN"
    assert as_role(client, keys, "admin").data(HISTORY, {"id": "m-analysis"})["savedAudience"] is None


def test_saved_audiences_belong_to_who_saved_them(client: TestClient, keys: Secured) -> None:
    admin, marketer = as_role(client, keys, "admin"), as_role(client, keys, "marketer")
    assert (
        admin.data(SAVE, {"id": "adm-1", "d": FEMALE, "p": "MARKETING"})["saveAudience"]["owner"]
        == "test-admin"
    )
    spoofed = {"id": "m-1", "d": FEMALE, "p": "MARKETING", "o": "test-admin"}
    assert marketer.code(SAVE, spoofed) == "FORBIDDEN"  # cannot save as someone else
    overwrite = {"id": "adm-1", "d": {"attribute": {"field": "gender", "op": "exists"}}, "p": "MARKETING"}
    assert marketer.code(SAVE, overwrite) == "FORBIDDEN"  # cannot replace someone else's
    assert admin.data(HISTORY, {"id": "adm-1"})["savedAudience"]["owner"] == "test-admin"
    own = marketer.data(SAVE, {"id": "m-1", "d": FEMALE, "p": "MARKETING"})["saveAudience"]
    assert own["owner"] == "test-marketer"
    assert marketer.data(SAVE, {"id": "m-1", "d": FEMALE, "p": "MARKETING"})  # their own: replaced
    assert admin.data(SAVE, {**spoofed, "id": "m-2"})["saveAudience"]["owner"] == "test-admin"  # admins may


def test_history_is_read_only_by_roles_that_may_evaluate_the_definition(
    client: TestClient, keys: Secured
) -> None:
    admin = as_role(client, keys, "admin")
    admin.data(SAVE, {"id": "adm-analysis", "d": FEMALE, "p": "ANALYSIS"})
    by_year = {"attribute": {"field": "birthYear", "op": "gte", "value": 1980}}
    admin.data(SAVE, {"id": "adm-years", "d": by_year, "p": "ANALYSIS"})
    admin.data(SAVE, {"id": "adm-rank", "d": {"influence": {"maxRank": 7}}, "p": "ANALYSIS"})
    # non-consented users counted, for a marketer; a masked attribute, for an analyst; a rank finer than k
    for role, audience in (("marketer", "adm-analysis"), ("analyst", "adm-years"), ("analyst", "adm-rank")):
        error = as_role(client, keys, role).error(HISTORY, {"id": audience})
        assert error["extensions"]["code"] == "FORBIDDEN", (role, audience)
    assert as_role(client, keys, "analyst").data(HISTORY, {"id": "adm-analysis"})["savedAudience"]["history"]

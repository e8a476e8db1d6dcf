"""A profile page in one round trip (issue 17): a user (or a page of users: `users`, audience members) with
tags, a page of ties and a page of orders is one statement, whose parts prime the request's DataLoaders;
tie pages read only the properties their users show. Every answer here is compared with the same question
asked in a shape the look-ahead leaves to the field-by-field reads (two aliases of one list, an explicit
argument), so what the one statement answers is what the separate reads answer.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.api.schema import schema
from personagraph.api.types.profiles import USER_FIELD_READS
from tests.api_support import AnalysedGraph, GraphQL, one, rows
from tests.test_api import _calls, _calls_since, client, gql  # noqa: F401 - the module's fixtures

pytestmark = pytest.mark.neo4j

# Every field of User with a scalar or small object answer, as a front end might select it on a friend.
ALL_USER_FIELDS = """
  id customerId gender birthYear ageBand occupation education incomeBand city region country
  marketingConsent personalizationOptOut lifecycle
  rfm { recency frequency monetary score runId computedAt }
  influence { score rank degree reach2 runId computedAt }
  community { communityId } persona { personaId }
"""


def _busy(graph: AnalysedGraph, n: int) -> list[str]:
    """``n`` users with friends, orders and tags, by id."""
    return [
        r["id"]
        for r in rows(
            graph,
            """
            MATCH (u:User) WHERE (u)-[:FRIEND_OF]-() AND (u)-[:PLACED]->() AND (u)-[:HAS_TAG]->()
            RETURN u.userId AS id ORDER BY id LIMIT $n
            """,
            n=n,
        )
    ]


PAGE = "{ totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id city } } }"
ORDERS = "{ totalCount pageInfo { hasNextPage endCursor } edges { cursor node { orderId orderedAt total } } }"


def test_a_page_of_users_with_tags_ties_and_orders_is_one_statement(
    gql: GraphQL,  # noqa: F811
    graph: AnalysedGraph,
    client: TestClient,  # noqa: F811
) -> None:
    ids = _busy(graph, 30)
    assert len(ids) >= 10
    before = _calls(client)
    bundled = gql.data(
        "query($ids: [ID!]!) { users(ids: $ids) { id tags { tagId name tier weight source } "
        f"friends(first: 5) {PAGE} orders(first: 3) {ORDERS} }} }}",
        {"ids": ids},
    )
    assert _calls_since(client, before) == {"profile_bundles": 1}
    # The same, read field by field: two aliases of each list (not one page to prime), tags with an
    # explicit argument (not the plain selection).
    before = _calls(client)
    apart = gql.data(
        "query($ids: [ID!]!) { users(ids: $ids) { id tags(includeExpired: false) { tagId name tier weight "
        f"source }} friends(first: 5) {PAGE} f2: friends(first: 5) {PAGE} orders(first: 3) {ORDERS} "
        f"o2: orders(first: 3) {ORDERS} }} }}",
        {"ids": ids},
    )
    assert "profile_bundles" not in _calls_since(client, before)
    for got, want in zip(bundled["users"], apart["users"], strict=True):
        assert got["tags"] == want["tags"]
        assert got["friends"] == want["friends"] == want["f2"] and got["friends"]["edges"]
        assert got["orders"] == want["orders"] == want["o2"] and got["orders"]["edges"]
    assert any(u["tags"] for u in bundled["users"])


def test_later_pages_and_other_tie_lists_come_from_the_one_statement_too(
    gql: GraphQL,  # noqa: F811
    graph: AnalysedGraph,
    client: TestClient,  # noqa: F811
) -> None:
    user = one(
        graph,
        "MATCH (u:User) WHERE COUNT { (u)<-[:FOLLOWS]-() } > 3 AND COUNT { (u)-[:PLACED]->() } > 2 "
        "RETURN u.userId AS id ORDER BY COUNT { (u)<-[:FOLLOWS]-() } DESC, id LIMIT 1",
    )["id"]
    first = gql.data(
        "query($id: ID!) { user(id: $id) { followers(first: 2) { pageInfo { endCursor } } "
        "orders(first: 1) { pageInfo { endCursor } } } }",
        {"id": user},
    )["user"]
    variables = {
        "id": user,
        "a": first["followers"]["pageInfo"]["endCursor"],
        "b": first["orders"]["pageInfo"]["endCursor"],
    }
    before = _calls(client)
    bundled = gql.data(
        "query($id: ID!, $a: String, $b: String) { user(id: $id) { "
        f"followers(first: 2, after: $a) {PAGE} orders(first: 2, after: $b) {ORDERS} }} }}",
        variables,
    )["user"]
    assert _calls_since(client, before) == {"profile_bundles": 1}
    apart = gql.data(
        "query($id: ID!, $a: String, $b: String) { user(id: $id) { "
        f"followers(first: 2, after: $a) {PAGE} x: followers(first: 2, after: $a) {PAGE} "
        f"orders(first: 2, after: $b) {ORDERS} y: orders(first: 2, after: $b) {ORDERS} }} }}",
        variables,
    )["user"]
    assert bundled["followers"] == apart["x"] and bundled["followers"]["edges"]
    assert bundled["orders"] == apart["y"] and bundled["orders"]["edges"]
    assert bundled["followers"]["edges"][0]["cursor"] != first["followers"]["pageInfo"]["endCursor"]


def test_tie_pages_read_what_their_users_show(gql: GraphQL, graph: AnalysedGraph) -> None:  # noqa: F811
    """Friends read with only the properties their fields need answer every field as a full read does."""
    ids = _busy(graph, 10)
    found = gql.data(
        f"query($ids: [ID!]!) {{ users(ids: $ids) {{ friends(first: 10) {{ edges {{ node {{ {ALL_USER_FIELDS} }} }} }} "
        "followers(first: 10) { edges { node { id city rfm { score } } } } } }",
        {"ids": ids},
    )["users"]
    friends = {e["node"]["id"]: e["node"] for u in found for e in u["friends"]["edges"]}
    followers = {e["node"]["id"]: e["node"] for u in found for e in u["followers"]["edges"]}
    assert friends and followers
    full = gql.data(
        f"query($ids: [ID!]!) {{ users(ids: $ids) {{ {ALL_USER_FIELDS} }} }}",
        {"ids": sorted(friends.keys() | followers.keys())},
    )["users"]
    by_id = {u["id"]: u for u in full}
    assert friends == {uid: by_id[uid] for uid in friends}
    assert any(f["rfm"] for f in friends.values()) and any(f["influence"] for f in friends.values())
    for uid, follower in followers.items():
        assert follower == {"id": uid, "city": by_id[uid]["city"], "rfm": _score(by_id[uid]["rfm"])}


def _score(rfm: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"score": rfm["score"]} if rfm else None


def test_audience_members_with_tags_and_friends_are_one_statement(
    gql: GraphQL,  # noqa: F811
    graph: AnalysedGraph,
    client: TestClient,  # noqa: F811
) -> None:
    city = one(graph, "MATCH (u:User) RETURN u.city AS city, count(*) AS n ORDER BY n DESC LIMIT 1")["city"]
    members = (
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { members(first: 20) { "
        "edges { node { id tags { tagId weight } friends(first: 3) { totalCount edges { node { id } } } "
        "%s } } } } }"
    )
    definition = {"attribute": {"field": "city", "op": "eq", "value": city}}
    before = _calls(client)
    bundled = gql.data(members % "", {"d": definition})["audience"]["members"]["edges"]
    made = _calls_since(client, before)
    assert made.get("profile_bundles") == 1 and "tags_of" not in made and "ties_pages" not in made, made
    apart = gql.data(
        members % "again: friends(first: 3) { totalCount edges { node { id } } }", {"d": definition}
    )["audience"]["members"]["edges"]
    assert len(bundled) == len(apart) > 0
    for got, want in zip(bundled, apart, strict=True):
        assert got["node"]["friends"] == want["node"]["again"]
        assert got["node"]["tags"] == want["node"]["tags"]


def test_every_user_field_says_what_it_reads() -> None:
    """A User field added without an entry would read every property of every user on a tie page:
    correct, but the page would pay for it; this makes the choice explicit."""
    user = schema._schema.type_map["User"]
    assert set(user.fields) <= USER_FIELD_READS.keys()  # type: ignore[attr-defined]

"""The GraphQL API over real HTTP handling and a real Neo4j holding a generated, analysed graph.

Each answer is checked against the graph itself (Cypher in the test), not against hard-coded values.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from fastapi.testclient import TestClient

from personagraph.api.types.look_ahead import direct_fields, page_arguments
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import AnalysedGraph, GraphQL, Secured, one, rows


@pytest.fixture(scope="module")
def client(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[TestClient]:
    with keys.client(neo4j_connection) as test_client:
        yield test_client


@pytest.fixture
def gql(client: TestClient) -> GraphQL:
    return GraphQL(client)


@pytest.fixture(scope="module")
def busy_user(graph: AnalysedGraph) -> str:
    """A user with several orders, friends, followers, tags and an identity."""
    return str(
        one(
            graph,
            """
            MATCH (u:User)
            WHERE COUNT { (u)-[:PLACED]->() } >= 3 AND COUNT { (u)-[:FRIEND_OF]-() } >= 3
              AND COUNT { ()-[:FOLLOWS]->(u) } >= 1 AND COUNT { (u)-[:HAS_TAG]->() } >= 2
              AND COUNT { (u)-[:HAS_IDENTITY]->() } >= 1 AND u.socialCommunity IS NOT NULL
            RETURN u.userId AS id ORDER BY id LIMIT 1
            """,
        )["id"]
    )


PROFILE = """
query Profile($id: ID!) {
  user(id: $id) {
    id city ageBand gender birthYear lifecycle marketingConsent personalizationOptOut customerId
    occupation education incomeBand region country
    tags { tagId name tier weight source evidence assignedAt }
    identities { kind value }
    channels { channelId kind acquired orders }
    influence { score rank degree reach2 runId computedAt }
    rfm { recency frequency monetary score runId }
    community { communityId kind size topCity }
    persona { personaId name description size }
  }
}
"""


def test_profile_fields_match_the_graph(gql: GraphQL, graph: AnalysedGraph, busy_user: str) -> None:
    user = gql.data(PROFILE, {"id": busy_user})["user"]
    stored = one(graph, "MATCH (u:User {userId: $id}) RETURN u {.*} AS u", id=busy_user)["u"]
    assert (
        user["id"] == busy_user
        and user["city"] == stored["city"]
        and user["birthYear"] == stored["birthYear"]
    )
    assert user["lifecycle"] == stored["lifecycle"]
    for field, prop in (
        ("gender", "gender"),
        ("ageBand", "ageBand"),
        ("marketingConsent", "marketingConsent"),
        ("personalizationOptOut", "personalizationOptOut"),
        ("customerId", "customerId"),
        ("occupation", "occupation"),
        ("education", "education"),
        ("incomeBand", "incomeBand"),
        ("region", "region"),
        ("country", "country"),
    ):
        assert user[field] == stored.get(prop), field
    assert user["influence"]["rank"] == stored["influenceRank"]
    assert user["influence"]["runId"] == stored["influenceRunId"]
    assert user["rfm"]["score"] == stored["rfmScore"]
    assert (
        user["community"]["communityId"] == stored["socialCommunity"]
        and user["community"]["kind"] == "social"
    )
    assert user["persona"]["personaId"] == stored["persona"] and user["persona"]["description"]
    tag_ids = {
        r["t"]
        for r in rows(graph, "MATCH (:User {userId: $id})-[:HAS_TAG]->(t) RETURN t.tagId AS t", id=busy_user)
    }
    assert {t["tagId"] for t in user["tags"]} <= tag_ids and user["tags"]
    weights = [t["weight"] for t in user["tags"]]
    assert weights == sorted(weights, reverse=True)
    identities = rows(
        graph, "MATCH (:User {userId: $id})-[:HAS_IDENTITY]->(i) RETURN i.value AS v", id=busy_user
    )
    assert sorted(i["value"] for i in user["identities"]) == sorted(r["v"] for r in identities)
    acquired = [c for c in user["channels"] if c["acquired"]]
    assert len(acquired) == 1


def test_rule_tags_carry_their_evidence(gql: GraphQL, graph: AnalysedGraph) -> None:
    holder = one(
        graph,
        "MATCH (u:User)-[h:HAS_TAG {source: 'rule'}]->(t) WHERE size(h.evidence) > 0 "
        "RETURN u.userId AS id, t.tagId AS tag, h.evidence AS evidence ORDER BY id, tag LIMIT 1",
    )
    tags = gql.data(
        "query($id: ID!) { user(id: $id) { tags { tagId source evidence } } }", {"id": holder["id"]}
    )
    mine = next(t for t in tags["user"]["tags"] if t["tagId"] == holder["tag"])
    assert mine["source"] == "rule" and mine["evidence"] == holder["evidence"]


def test_tags_filter_by_tier(gql: GraphQL, busy_user: str) -> None:
    tags = gql.data(
        "query($id: ID!) { user(id: $id) { tags(tier: PREFERENCE) { tier } } }", {"id": busy_user}
    )
    assert all(t["tier"] == "preference" for t in tags["user"]["tags"])


def test_unknown_user_is_null_not_an_error(gql: GraphQL) -> None:
    assert gql.data('{ user(id: "nobody") { id } }') == {"user": None}


ORDERS = """
query($id: ID!, $after: String) {
  user(id: $id) { orders(first: 2, after: $after) {
    totalCount pageInfo { hasNextPage endCursor hasPreviousPage }
    edges { cursor node { orderId orderedAt total lines { sku quantity unitPrice product { sku brand } } } } } }
}
"""


def test_orders_page_newest_first_without_overlap(gql: GraphQL, graph: AnalysedGraph, busy_user: str) -> None:
    expected = rows(
        graph,
        "MATCH (:User {userId: $id})-[:PLACED]->(o:Order) RETURN o.orderId AS id ORDER BY o.orderedAt DESC, id",
        id=busy_user,
    )
    seen: list[str] = []
    after = None
    while True:
        page = gql.data(ORDERS, {"id": busy_user, "after": after})["user"]["orders"]
        assert page["totalCount"] == len(expected)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [e["node"]["orderId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == [r["id"] for r in expected]


def test_order_totals_are_line_sums(gql: GraphQL, busy_user: str) -> None:
    edges = gql.data(ORDERS, {"id": busy_user, "after": None})["user"]["orders"]["edges"]
    for edge in edges:
        order = edge["node"]
        assert order["total"] == pytest.approx(
            sum(x["quantity"] * (x["unitPrice"] or 0) for x in order["lines"])
        )
        assert all(x["product"]["sku"] == x["sku"] for x in order["lines"])


@pytest.mark.parametrize(
    ("field", "pattern"),
    [
        ("friends", "(:User {userId: $id})-[:FRIEND_OF]-(f:User)"),
        ("followers", "(:User {userId: $id})<-[:FOLLOWS]-(f:User)"),
        ("following", "(:User {userId: $id})-[:FOLLOWS]->(f:User)"),
    ],
)
def test_tie_connections_page_through_every_tie(
    gql: GraphQL, graph: AnalysedGraph, busy_user: str, field: str, pattern: str
) -> None:
    expected = [
        r["id"]
        for r in rows(graph, f"MATCH {pattern} RETURN DISTINCT f.userId AS id ORDER BY id", id=busy_user)
    ]
    query = f"""query($id: ID!, $after: String) {{ user(id: $id) {{ {field}(first: 2, after: $after) {{
        totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ id }} }} }} }} }}"""
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = gql.data(query, {"id": busy_user, "after": after})["user"][field]
        assert page["totalCount"] == len(expected)
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == expected


def test_a_cursor_of_another_list_is_refused(gql: GraphQL, busy_user: str) -> None:
    page = gql.data(
        "query($id: ID!) { user(id: $id) { orders(first: 1) { pageInfo { endCursor } } } }", {"id": busy_user}
    )
    cursor = page["user"]["orders"]["pageInfo"]["endCursor"]
    error = gql.error(
        "query($id: ID!, $c: String) { user(id: $id) { friends(first: 1, after: $c) { totalCount } } }",
        {"id": busy_user, "c": cursor},
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "after" in error["message"]
    assert gql.code(
        "query($id: ID!) { user(id: $id) { friends(first: 0) { totalCount } } }", {"id": busy_user}
    ) == ("BAD_USER_INPUT")


def test_neighborhood_is_ready_to_draw(gql: GraphQL, graph: AnalysedGraph, busy_user: str) -> None:
    query = """query($id: ID!, $d: Int!, $l: Int!) { user(id: $id) { neighborhood(depth: $d, limit: $l) {
        center truncated nodes { id label key caption } edges { source target type } } } }"""
    near = gql.data(query, {"id": busy_user, "d": 1, "l": 500})["user"]["neighborhood"]
    ids = {n["id"] for n in near["nodes"]}
    assert near["center"] == f"User:{busy_user}" and near["center"] in ids
    assert all(e["source"] in ids and e["target"] in ids for e in near["edges"])
    direct = rows(
        graph,
        "MATCH (:User {userId: $id})-[:FRIEND_OF|FOLLOWS|REFERRED]-(f:User) RETURN DISTINCT f.userId AS id",
        id=busy_user,
    )
    assert {f"User:{r['id']}" for r in direct} <= ids
    small = gql.data(query, {"id": busy_user, "d": 2, "l": 3})["user"]["neighborhood"]
    assert small["truncated"] and len([n for n in small["nodes"] if n["label"] == "User"]) <= 3
    assert gql.code(query, {"id": busy_user, "d": 4, "l": 10}) == "BAD_USER_INPUT"


def test_user_cross_sell_and_lookalikes(gql: GraphQL, graph: AnalysedGraph, busy_user: str) -> None:
    data = gql.data(
        """query($id: ID!) { user(id: $id) {
            crossSell(first: 5) { personalised basedOn items { sku score reason product { sku name } } }
            lookalikes(first: 5) { score reasons user { id } } } }""",
        {"id": busy_user},
    )["user"]
    bought = {
        r["sku"]
        for r in rows(
            graph,
            "MATCH (:User {userId: $id})-[:PLACED]->()-[:CONTAINS]->(p) RETURN p.sku AS sku",
            id=busy_user,
        )
    }
    cross = data["crossSell"]
    assert cross["personalised"] and set(cross["basedOn"]) <= bought
    assert not {i["sku"] for i in cross["items"]} & bought
    assert all(i["product"]["sku"] == i["sku"] for i in cross["items"])
    looks = data["lookalikes"]
    assert looks and all(x["user"]["id"] != busy_user and x["reasons"] for x in looks)
    scores = [x["score"] for x in looks]
    assert scores == sorted(scores, reverse=True)


def test_opted_out_user_gets_no_personalised_cross_sell(gql: GraphQL, graph: AnalysedGraph) -> None:
    opted = one(
        graph,
        "MATCH (u:User {personalizationOptOut: true}) WHERE COUNT { (u)-[:PLACED]->() } > 0 "
        "RETURN u.userId AS id ORDER BY id LIMIT 1",
    )["id"]
    query = "query($id: ID) { crossSell(userId: $id, first: 5) { personalised basedOn items { sku } } }"
    mine = gql.data(query, {"id": opted})["crossSell"]
    assert mine["personalised"] is False and mine["basedOn"] == []


AUDIENCE = """
query($d: AudienceInput!, $p: Purpose!, $after: String) {
  audience(definition: $d, purpose: $p) {
    count { value exact } excludedByConsent { value } definition
    members(first: 3, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { id city } } }
    breakdown(by: "ageBand") { value count { value } }
  }
}
"""


def test_audience_counts_pages_and_breaks_down(gql: GraphQL, graph: AnalysedGraph) -> None:
    city = one(graph, "MATCH (u:User) RETURN u.city AS city, count(*) AS n ORDER BY n DESC LIMIT 1")["city"]
    definition = {"attribute": {"field": "city", "op": "eq", "value": city}}
    expected = one(
        graph,
        "MATCH (u:User {city: $city}) RETURN count(u) AS total, "
        "count(CASE WHEN u.marketingConsent = true THEN 1 END) AS consenting",
        city=city,
    )
    data = gql.data(AUDIENCE, {"d": definition, "p": "MARKETING", "after": None})["audience"]
    assert data["count"] == {"value": expected["consenting"], "exact": True}
    assert data["count"]["value"] + data["excludedByConsent"]["value"] == expected["total"]
    assert data["definition"] == definition
    assert all(e["node"]["city"] == city for e in data["members"]["edges"])
    analysis = gql.data(AUDIENCE, {"d": definition, "p": "ANALYSIS", "after": None})["audience"]
    total = sum(b["count"]["value"] for b in analysis["breakdown"])
    assert total == analysis["count"]["value"] == expected["total"]
    after = data["members"]["pageInfo"]["endCursor"]
    second = gql.data(AUDIENCE, {"d": definition, "p": "MARKETING", "after": after})["audience"]["members"]
    first_ids = [e["node"]["id"] for e in data["members"]["edges"]]
    second_ids = [e["node"]["id"] for e in second["edges"]]
    assert first_ids + second_ids == sorted(first_ids + second_ids) and not set(first_ids) & set(second_ids)


def test_relational_audience_and_lookalikes(gql: GraphQL, graph: AnalysedGraph) -> None:
    definition = {
        "friends": {
            "atLeast": 2,
            "who": {"attribute": {"field": "marketingConsent", "op": "eq", "value": True}},
        }
    }
    data = gql.data(
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } lookalikes(first: 3) { user { id } } } }",
        {"d": definition},
    )["audience"]
    expected = one(
        graph,
        "MATCH (u:User) WHERE COUNT { (u)-[:FRIEND_OF]-(f:User {marketingConsent: true}) } >= 2 RETURN count(u) AS n",
    )["n"]
    assert data["count"]["value"] == expected
    assert len(data["lookalikes"]) <= 3


@pytest.mark.parametrize(
    ("definition", "fragment"),
    [
        ({"attribute": {"field": "shoeSize", "op": "eq", "value": 1}}, "shoeSize"),
        ({"and": []}, "and"),
        ({"lifecycle": {"in": ["sleepy"]}}, "sleepy"),
        ({"tag": {"tagId": "x"}, "lifecycle": {"in": ["new"]}}, "exactly one"),
        ({"behavior": {"action": "bought", "sku": "P1", "brand": "b"}}, "exactly one of sku"),
    ],
)
def test_malformed_definitions_are_bad_user_input(
    gql: GraphQL, definition: dict[str, Any], fragment: str
) -> None:
    error = gql.error(
        "query($d: AudienceInput!) { audience(definition: $d) { count { value } } }", {"d": definition}
    )
    assert error["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"), error
    assert fragment in error["message"], error


def test_injection_text_in_definitions_is_only_a_value(gql: GraphQL, graph: AnalysedGraph) -> None:
    before = one(graph, "MATCH (n) RETURN count(n) AS n")["n"]
    nasty = "x'}) MATCH (n) DETACH DELETE n //"
    data = gql.data(
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } } }",
        {
            "d": {
                "or": [
                    {"tag": {"tagId": nasty}},
                    {"attribute": {"field": "city", "op": "eq", "value": nasty}},
                ]
            }
        },
    )
    assert data["audience"]["count"]["value"] == 0
    assert one(graph, "MATCH (n) RETURN count(n) AS n")["n"] == before


def test_the_strongest_bought_together_pairs_each_once(gql: GraphQL, graph: AnalysedGraph) -> None:
    query = """query($n: Int!, $m: Int!) { boughtTogether(first: $n, minCount: $m) {
        count support confidence lift first { sku name } second { sku } } }"""
    pairs = gql.data(query, {"n": 10, "m": 2})["boughtTogether"]
    expected = rows(
        graph,
        "MATCH (a:Product)-[r:BOUGHT_WITH]->(b:Product) WHERE r.count >= 2 "
        "WITH CASE WHEN a.sku < b.sku THEN [a.sku, b.sku] ELSE [b.sku, a.sku] END AS pair, "
        "max(r.lift) AS lift, max(r.count) AS count "
        "RETURN pair, lift, count ORDER BY lift DESC, count DESC, pair[0], pair[1] LIMIT 10",
    )
    assert expected, "the analysed graph has bought-together pairs"
    assert [[p["first"]["sku"], p["second"]["sku"]] for p in pairs] == [r["pair"] for r in expected]
    assert [p["lift"] for p in pairs] == pytest.approx([r["lift"] for r in expected])
    assert all(p["count"] >= 2 and 0 < p["confidence"] <= 1 for p in pairs)
    assert gql.code(query, {"n": 0, "m": 2}) == "BAD_USER_INPUT"
    assert gql.code(query, {"n": 5, "m": 0}) == "BAD_USER_INPUT"


def test_product_and_bought_with(gql: GraphQL, graph: AnalysedGraph) -> None:
    pair = one(
        graph,
        "MATCH (p:Product)-[r:BOUGHT_WITH]->(q) RETURN p.sku AS sku, count(q) AS n ORDER BY n DESC, sku LIMIT 1",
    )
    data = gql.data(
        """query($sku: ID!) { product(sku: $sku) { sku name brand categoryPath price
            boughtWith(first: 3) { count support confidence lift product { sku name } } } }""",
        {"sku": pair["sku"]},
    )["product"]
    assert data["sku"] == pair["sku"] and data["categoryPath"]
    expected = rows(
        graph,
        "MATCH (:Product {sku: $sku})-[r:BOUGHT_WITH]->(q) RETURN q.sku AS sku ORDER BY r.lift DESC, r.count DESC, sku LIMIT 3",
        sku=pair["sku"],
    )
    assert [b["product"]["sku"] for b in data["boughtWith"]] == [r["sku"] for r in expected]
    cross = gql.data(
        "query($sku: ID!) { crossSell(sku: $sku, first: 3) { personalised items { sku } } }",
        {"sku": pair["sku"]},
    )
    assert cross["crossSell"]["personalised"] is False
    assert [i["sku"] for i in cross["crossSell"]["items"]] == [r["sku"] for r in expected]
    assert gql.data('{ product(sku: "no-such") { sku } }') == {"product": None}
    assert gql.code('{ crossSell(sku: "no-such") { personalised } }') == "NOT_FOUND"
    assert gql.code("{ crossSell { personalised } }") == "BAD_USER_INPUT"


def test_insights(gql: GraphQL, graph: AnalysedGraph) -> None:
    data = gql.data(
        """{ influencers(first: 5) { id influence { rank } }
             communities(kind: SOCIAL, first: 3) { communityId size topTags }
             productCommunities: communities(kind: PRODUCT, first: 3) { communityId kind }
             personas { personaId name size }
             channelStats { channelId acquiredUsers buyers conversionRate revenue }
             tags(tier: BASIC) { tagId tier users }
             analyticsRuns(first: 10) { runId kind status seconds counts timings } }"""
    )
    assert [u["influence"]["rank"] for u in data["influencers"]] == [1, 2, 3, 4, 5]
    sizes = [c["size"] for c in data["communities"]]
    assert sizes == sorted(sizes, reverse=True) and sizes
    assert all(c["kind"] == "product" for c in data["productCommunities"])
    users = one(graph, "MATCH (u:User) WHERE u.persona IS NOT NULL RETURN count(u) AS n")["n"]
    assert sum(p["size"] for p in data["personas"]) == users
    assert {s["channelId"] for s in data["channelStats"]} <= {
        r["id"] for r in rows(graph, "MATCH (c:Channel) RETURN c.channelId AS id")
    }
    assert all(t["tier"] == "basic" for t in data["tags"]) and data["tags"]
    kinds = {r["kind"] for r in data["analyticsRuns"]}
    assert {"influence", "copurchase", "segments", "personas", "attribution"} <= kinds
    assert all(r["status"] == "done" and isinstance(r["timings"], dict) for r in data["analyticsRuns"])
    community = data["communities"][0]["communityId"]
    within = gql.data(
        "query($c: ID) { influencers(first: 3, communityId: $c) { community { communityId } } }",
        {"c": community},
    )
    assert all(u["community"]["communityId"] == community for u in within["influencers"])


def test_batched_loading_makes_few_graph_calls(
    gql: GraphQL, graph: AnalysedGraph, client: TestClient
) -> None:
    ids = [r["id"] for r in rows(graph, "MATCH (u:User) RETURN u.userId AS id ORDER BY id LIMIT 50")]
    before = _calls(client)
    data = gql.data(
        "query($ids: [ID!]!) { users(ids: $ids) { id tags { tagId } friends(first: 5) { edges { node { id city } } } } }",
        {"ids": ids},
    )
    assert [u["id"] for u in data["users"]] == ids
    made = _calls_since(client, before)
    assert made == {"profile_bundles": 1}, made  # users, tags and friends in one statement


def test_a_product_and_its_partners_are_one_read(
    gql: GraphQL, graph: AnalysedGraph, client: TestClient
) -> None:
    """The product field looks ahead at boughtWith's `first`, written in the document or a variable."""
    sku = one(graph, "MATCH (p:Product)-[:BOUGHT_WITH]->() RETURN p.sku AS sku ORDER BY sku LIMIT 1")["sku"]
    for query, variables in (
        ("query($sku: ID!) { product(sku: $sku) { sku boughtWith(first: 3) { lift } } }", {"sku": sku}),
        (
            "query($sku: ID!, $n: Int!) { product(sku: $sku) { sku boughtWith(first: $n) { lift } } }",
            {"sku": sku, "n": 3},
        ),
    ):
        before = _calls(client)
        data = gql.data(query, variables)["product"]
        made = _calls_since(client, before)
        assert data["sku"] == sku and 1 <= len(data["boughtWith"]) <= 3
        assert made == {"product_page": 1}, (query, made)


def test_a_cross_sell_box_reads_no_details_a_product_page_does(gql: GraphQL, graph: AnalysedGraph) -> None:
    """The product field skips the category walk only when none of brand, categories or community is
    selected; asked for, they are there, in a fragment too."""
    sku = one(graph, "MATCH (p:Product)-[:BOUGHT_WITH]->() RETURN p.sku AS sku ORDER BY sku LIMIT 1")["sku"]
    box = "query($sku: ID!) { product(sku: $sku) { sku name boughtWith(first: 3) { lift product { sku } } } }"
    page = (
        "query($sku: ID!) { product(sku: $sku) { sku name ...D boughtWith(first: 3) { lift product { sku } } } }"
        " fragment D on Product { brand categoryPath categoryId }"
    )
    lean, full = gql.data(box, {"sku": sku})["product"], gql.data(page, {"sku": sku})["product"]
    assert lean == {k: full[k] for k in ("sku", "name", "boughtWith")} and lean["boughtWith"]
    stored = one(
        graph,
        "MATCH (p:Product {sku: $sku})-[:IN_CATEGORY]->(c) OPTIONAL MATCH (p)-[:OF_BRAND]->(b) "
        "RETURN c.categoryId AS category, b.name AS brand",
        sku=sku,
    )
    assert (full["categoryId"], full["brand"]) == (stored["category"], stored["brand"]) and full[
        "categoryPath"
    ]


@strawberry.type
class _Probe:
    found: str

    @strawberry.field
    def seen(self, first: int = 0, after: str | None = None) -> str:
        return self.found


@strawberry.type
class _ProbeRoot:
    @strawberry.field
    def probe(self, info: strawberry.Info) -> _Probe:
        fields = direct_fields(info)
        return _Probe(found=repr([(name, page_arguments(args)) for name, args in fields]))


def test_look_ahead_reads_page_arguments_from_literals_variables_and_fragments() -> None:
    """What prime_user_loaders and the product look-ahead see one level down (a tiny schema, no
    database): literal Ints as ints, variables resolved, fields inside fragments found."""
    schema = strawberry.Schema(query=_ProbeRoot)
    cases = [
        ("{ probe { seen(first: 20) } }", None, "[('seen', (20, None))]"),
        ('{ probe { seen(first: 5, after: "c1") } }', None, "[('seen', (5, 'c1'))]"),
        ("query($n: Int!) { probe { seen(first: $n) } }", {"n": 7}, "[('seen', (7, None))]"),
        ("{ probe { seen found } }", None, "[('seen', None), ('found', None)]"),
        ("{ probe { seen(after: null) } }", None, "[('seen', None)]"),
        ("{ probe { ...F } } fragment F on Probe { seen(first: 3) }", None, "[('seen', (3, None))]"),
        ("{ probe { ... on Probe { seen(first: 4) } } }", None, "[('seen', (4, None))]"),
    ]
    for query, variables, expected in cases:
        result = schema.execute_sync(query, variable_values=variables)
        assert result.errors is None, (query, result.errors)
        assert result.data is not None and result.data["probe"]["seen"] == expected, query


def _calls_since(client: TestClient, before: dict[str, float]) -> dict[str, float]:
    """graph/ calls made since ``before`` (a ``_calls`` reading), by function; functions not called left out."""
    after = _calls(client)
    return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}


def _calls(client: TestClient) -> dict[str, float]:
    """graph/ calls so far, by function, read from /metrics."""
    calls: dict[str, float] = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("persona_neo4j_call_seconds_count{"):
            name = line.split('function="', 1)[1].split('"', 1)[0]
            calls[name] = float(line.rsplit(" ", 1)[1])
    return calls


def test_saved_audiences_round_trip(gql: GraphQL) -> None:
    mutation = """mutation($d: AudienceInput!) { saveAudience(id: "api-young", name: "Young", definition: $d, owner: "tests") {
        id name owner purpose definition history { count { value } countedAt } audience { count { value } } } }"""
    definition = {"attribute": {"field": "ageBand", "op": "in", "value": ["18-24", "25-34"]}}
    saved = gql.data(mutation, {"d": definition})["saveAudience"]
    assert saved["id"] == "api-young" and saved["owner"] == "tests" and saved["purpose"] == "MARKETING"
    assert saved["history"][-1]["count"] == saved["audience"]["count"]
    listed = gql.data(
        '{ savedAudiences { id } savedAudience(id: "api-young") { name } missing: savedAudience(id: "zzz") { id } }'
    )
    assert "api-young" in [a["id"] for a in listed["savedAudiences"]]
    assert listed["savedAudience"] == {"name": "Young"} and listed["missing"] is None


def test_upsert_user_creates_updates_and_validates(gql: GraphQL) -> None:
    mutation = (
        "mutation($u: UserInput!) { upsertUser(input: $u) { id city birthYear ageBand marketingConsent } }"
    )
    created = gql.data(
        mutation, {"u": {"id": "api-new-1", "city": "Hangzhou", "birthYear": 1990, "marketingConsent": True}}
    )
    assert created["upsertUser"]["city"] == "Hangzhou" and created["upsertUser"]["ageBand"]
    updated = gql.data(mutation, {"u": {"id": "api-new-1", "city": "Suzhou"}})["upsertUser"]
    assert (
        updated["city"] == "Suzhou" and updated["birthYear"] == 1990 and updated["marketingConsent"] is True
    )
    error = gql.error(mutation, {"u": {"id": "api-new-1", "birthYear": 1700}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "birth_year" in error["message"]
    assert gql.code(mutation, {"u": {"id": "api-new-1", "acquiredVia": "no-such-channel"}}) in (
        "BAD_USER_INPUT",
        "NOT_FOUND",
    )


def test_record_event_and_order_update_the_profile_at_once(gql: GraphQL, graph: AnalysedGraph) -> None:
    user = "api-buyer"
    gql.data(
        'mutation { upsertUser(input: {id: "api-buyer", city: "Wuhan", marketingConsent: true}) { id } }'
    )
    sku = one(graph, "MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku LIMIT 1")["sku"]
    event = """mutation($e: EventInput!) { recordEvent(input: $e) {
        new eventKey tagsAdded tagsRemoved tagsUpdated user { id } } }"""
    at = "2026-11-20T23:30:00Z"
    first = gql.data(
        event, {"e": {"userId": user, "kind": "VIEW", "at": at, "target": sku, "eventId": "api-e1"}}
    )
    again = gql.data(
        event, {"e": {"userId": user, "kind": "VIEW", "at": at, "target": sku, "eventId": "api-e1"}}
    )
    assert first["recordEvent"]["new"] is True and again["recordEvent"]["new"] is False
    viewed = one(
        graph,
        "MATCH (:User {userId: $u})-[v:VIEWED]->(:Product {sku: $s}) RETURN v.count AS n",
        u=user,
        s=sku,
    )
    assert viewed["n"] == 1
    order = """mutation($o: OrderInput!) { recordOrder(input: $o) { orderId lines tagsAdded
        user { orders(first: 5) { totalCount edges { node { orderId total } } } } } }"""
    placed = gql.data(
        order,
        {
            "o": {
                "orderId": "api-o1",
                "userId": user,
                "orderedAt": at,
                "lines": [{"sku": sku, "quantity": 2, "unitPrice": 10.5}],
            }
        },
    )["recordOrder"]
    assert placed["lines"] == 1 and placed["user"]["orders"]["totalCount"] == 1
    assert placed["user"]["orders"]["edges"][0]["node"]["total"] == pytest.approx(21.0)
    assert "new-customer" in placed["tagsAdded"], placed[
        "tagsAdded"
    ]  # api-buyer's first order, at the data time
    assert gql.code(event, {"e": {"userId": "nobody", "kind": "VIEW", "at": at, "target": sku}}) in (
        "NOT_FOUND",
        "BAD_USER_INPUT",
    )
    stolen = {
        "o": {"orderId": "api-o1", "userId": _other_user(graph), "orderedAt": at, "lines": [{"sku": sku}]}
    }
    assert gql.code(order, stolen) == "BAD_USER_INPUT"


def _other_user(graph: AnalysedGraph) -> str:
    return str(
        one(graph, "MATCH (u:User) WHERE u.userId STARTS WITH 'u' RETURN u.userId AS id ORDER BY id LIMIT 1")[
            "id"
        ]
    )


def test_tag_and_untag_user(gql: GraphQL, graph: AnalysedGraph) -> None:
    user = _other_user(graph)
    tag = one(
        graph,
        "MATCH (t:Tag) WHERE NOT EXISTS { (:User {userId: $u})-[:HAS_TAG]->(t) } RETURN t.tagId AS t ORDER BY t LIMIT 1",
        u=user,
    )["t"]
    tagged = gql.data(
        "mutation($u: ID!, $t: ID!) { tagUser(userId: $u, tagId: $t, weight: 0.7) { created tagId } }",
        {"u": user, "t": tag},
    )["tagUser"]
    assert tagged == {"created": True, "tagId": tag}
    held = gql.data("query($u: ID!) { user(id: $u) { tags { tagId source weight } } }", {"u": user})["user"][
        "tags"
    ]
    assert {"tagId": tag, "source": "manual", "weight": 0.7} in held
    untagged = gql.data(
        "mutation($u: ID!, $t: ID!) { untagUser(userId: $u, tagId: $t) { removedSources } }",
        {"u": user, "t": tag},
    )
    assert untagged["untagUser"]["removedSources"] == ["manual"]
    assert (
        gql.code('mutation($t: ID!) { tagUser(userId: "nobody", tagId: $t) { created } }', {"t": tag})
        == "NOT_FOUND"
    )
    assert (
        gql.code('mutation($u: ID!) { tagUser(userId: $u, tagId: "no-such-tag") { created } }', {"u": user})
        == "NOT_FOUND"
    )
    assert gql.code(
        "mutation($u: ID!, $t: ID!) { tagUser(userId: $u, tagId: $t, weight: 3) { created } }",
        {"u": user, "t": tag},
    ) == ("BAD_USER_INPUT")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ user(id: ", "GRAPHQL_PARSE_FAILED"),
        ('{ user(id: "x") { shoeSize } }', "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { influencers(first: $n) { id } }", "BAD_USER_INPUT"),
        ("{ influencers(first: 100000) { id } }", "BAD_USER_INPUT"),
        (
            '{ audience(definition: {tag: {tagId: "a"}, lifecycle: {in: ["new"]}}) { count { value } } }',
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
)
def test_bad_requests_get_coded_errors_never_500(gql: GraphQL, query: str, code: str) -> None:
    assert gql.code(query) == code


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.post("/graphql", json={"query": "{ __typename }"})
    text = client.get("/metrics").text
    assert 'persona_http_requests_total{method="POST",route="/graphql",status="200"}' in text
    assert 'persona_graphql_operations_total{outcome="ok",type="query"}' in text
    assert "persona_http_request_seconds_bucket" in text


def test_neo4j_down_is_unavailable_and_readyz_503(
    neo4j_connection: ConnectionInfo, graph: AnalysedGraph, keys: Secured
) -> None:
    from neo4j import GraphDatabase

    from personagraph.graph.server.local import free_port
    from personagraph.graph.store import GraphStore

    with keys.client(neo4j_connection) as client:
        dead = GraphDatabase.driver(
            f"bolt://127.0.0.1:{free_port()}", auth=("neo4j", "x"), max_transaction_retry_time=0.5
        )
        live = client.app.state.store  # type: ignore[attr-defined]
        client.app.state.store = GraphStore(dead, "neo4j")  # type: ignore[attr-defined]
        try:
            assert client.get("/readyz").status_code == 503
            body = client.post("/graphql", json={"query": '{ user(id: "u1") { id } }'}).json()
            assert body["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
            assert "bolt" not in body["errors"][0]["message"]
        finally:
            client.app.state.store = live  # type: ignore[attr-defined]
            dead.close()
        assert client.get("/readyz").status_code == 200


def test_graphiql_on_get(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()

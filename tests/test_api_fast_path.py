"""The fast path (api/fast_path.py) against the usual path: the same documents, roles and variables asked of
an app with it and of one without, over the same graph; every body must be the same, refusals and errors
included, and the audit log must get the same entries. Then what an attacker might try: a document
learned for one role asked by another, variables that would break a limit once the plan is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.api.policy import Role
from personagraph.graph.audit import AuditLog
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import AnalysedGraph, Secured, one, secured

pytestmark = pytest.mark.neo4j

MAX_COST = 700
API_SETTINGS = {
    "api_max_cost": MAX_COST
}  # the module's app (the `keys` fixture); a tie page of 100 exceeds it

USER_FIELDS = (
    "id customerId gender birthYear ageBand occupation education incomeBand city region country "
    "marketingConsent personalizationOptOut lifecycle __typename "
    "rfm { recency frequency monetary score runId computedAt __typename } "
    "influence { score rank degree reach2 runId computedAt } "
)
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"
PROFILE = (
    "query Profile($id: ID!) { user(id: $id) { id city ageBand gender "
    "tags { tagId name tier weight source } friends(first: 20) { totalCount edges { node { id city } } } "
    "orders(first: 10) { edges { node { orderId orderedAt total } } } } }"
)
EVERYTHING = (
    f"query Everything($id: ID!) {{ user(id: $id) {{ {USER_FIELDS} "
    "tags { tagId name tier weight source ruleId assignedAt expiresAt evidence __typename } "
    f"friends(first: 3) {{ totalCount {PAGE_INFO} __typename edges {{ cursor __typename node {{ {USER_FIELDS} }} }} }} "
    f"orders(first: 2) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ orderId orderedAt channelId total "
    "lines { sku name quantity unitPrice __typename } __typename } } } } }"
)
NO_PII = "query Plain($id: ID!) { person: user(id: $id) { key: id city rfm { score } influence { rank } } }"
PAGED = (
    "query Paged($id: ID!, $n: Int = 2, $after: String, $m: Int!) { user(id: $id) { "
    f"followers(first: $n, after: $after) {{ totalCount {PAGE_INFO} edges {{ cursor node {{ id city }} }} }} "
    f"orders(first: $m) {{ totalCount {PAGE_INFO} edges {{ node {{ orderId total }} }} }} }} }}"
)
WIDE = (
    "query Wide($id: ID!, $n: Int!) { user(id: $id) { friends(first: $n) { edges { node { "
    + USER_FIELDS
    + " } } } } }"
)
PRODUCT = (
    "query Product($sku: ID!, $n: Int!) { product(sku: $sku) { sku name price currency brand categoryPath "
    "categoryId __typename boughtWith(first: $n) { count support confidence lift __typename "
    "product { sku name price currency } } } }"
)
CROSS_SELL = (
    "query CrossSell($sku: ID!) { product(sku: $sku) { sku name "
    "boughtWith(first: 10) { product { sku name } count support confidence lift } } }"
)
ROLES = (Role.ADMIN, Role.SERVICE, Role.ANALYST, Role.MARKETER)


@pytest.fixture(scope="module")
def usual_keys(tmp_path_factory: pytest.TempPathFactory) -> Secured:
    """The same settings as the module's app, with the fast path off."""
    return secured(tmp_path_factory.mktemp("usual"), api_rate_limit=0, api_fast_path=False, **API_SETTINGS)


@pytest.fixture(scope="module")
def usual(
    graph: AnalysedGraph, neo4j_connection: ConnectionInfo, usual_keys: Secured
) -> Iterator[TestClient]:
    with usual_keys.client(neo4j_connection, None) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def ids(graph: AnalysedGraph) -> dict[str, Any]:
    busy = one(
        graph,
        "MATCH (u:User) WHERE COUNT { (u)-[:FRIEND_OF]-() } > 3 AND COUNT { (u)<-[:FOLLOWS]-() } > 2 "
        "AND COUNT { (u)-[:PLACED]->() } > 2 AND u.rfmScore IS NOT NULL AND u.influence IS NOT NULL "
        "AND (u)-[:HAS_TAG]->() RETURN u.userId AS id ORDER BY id LIMIT 1",
    )["id"]
    sku = one(
        graph,
        "MATCH (p:Product) RETURN p.sku AS sku ORDER BY COUNT { (p)-[:BOUGHT_WITH]-() } DESC, sku LIMIT 1",
    )["sku"]
    return {"user": busy, "sku": sku}


def _ask(client: TestClient, keys: Secured, role: Role, query: str, variables: dict[str, Any]) -> Any:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=keys.headers(role)
    )
    return response.status_code, response.json()


def _answered_as(client: TestClient, keys: Secured) -> float:
    for line in client.get("/metrics", headers=keys.headers(Role.ADMIN)).text.splitlines():
        if line.startswith('persona_graphql_fast_path_total{outcome="answered"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _cases(ids: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    user, sku = ids["user"], ids["sku"]
    return [
        ("profile", PROFILE, {"id": user}),
        ("everything", EVERYTHING, {"id": user}),
        ("aliases", NO_PII, {"id": user}),
        ("variables and defaults", PAGED, {"id": user, "m": 2}),
        ("unknown user", PROFILE, {"id": "no-such-user"}),
        ("id as a number", NO_PII, {"id": 12345}),
        ("product", PRODUCT, {"sku": sku, "n": 5}),
        ("cross-sell", CROSS_SELL, {"sku": sku}),
        ("unknown product", CROSS_SELL, {"sku": "no-such-sku"}),
    ]


def test_both_paths_answer_alike_for_every_role(
    client: TestClient,
    keys: Secured,
    usual: TestClient,
    usual_keys: Secured,
    ids: dict[str, Any],
) -> None:
    answered_before = _answered_as(client, keys)
    fast_answers = 0
    planned: set[tuple[str, Role]] = set()
    for name, query, variables in _cases(ids):
        for role in ROLES:
            want = _ask(usual, usual_keys, role, query, variables)
            learned = _ask(client, keys, role, query, variables)  # the usual path, which may teach a plan
            again = _ask(client, keys, role, query, variables)  # the plan, where there is one
            assert learned == want, (name, role)
            assert again == want, (name, role)
            if "errors" not in want[1]:  # then the fast path answers its second ask, and both later on
                fast_answers += 2 if (query, role) in planned else 1
                planned.add((query, role))
    # Every case some role may ask without an error is the fast path's once its document is learned.
    assert _answered_as(client, keys) - answered_before == fast_answers > 10


def test_later_pages_and_changed_variables_answer_alike(
    client: TestClient,
    keys: Secured,
    usual: TestClient,
    usual_keys: Secured,
    ids: dict[str, Any],
) -> None:
    variables = {"id": ids["user"], "m": 1}
    _ask(client, keys, Role.SERVICE, PAGED, variables)  # learn
    first = _ask(usual, usual_keys, Role.SERVICE, PAGED, variables)[1]["data"]["user"]["followers"]
    later = {**variables, "after": first["pageInfo"]["endCursor"], "n": 1}
    assert _ask(client, keys, Role.SERVICE, PAGED, later) == _ask(
        usual, usual_keys, Role.SERVICE, PAGED, later
    )
    for bad in (
        {**variables, "after": "not-a-cursor"},  # a cursor this API never issued
        {**variables, "n": 0},  # a page of nothing
        {**variables, "n": "5"},  # a string for an Int
        {**variables, "m": None},  # null for an Int!
        {"m": 1},  # no id
        {**variables, "id": True},  # not an ID
    ):
        got = _ask(client, keys, Role.SERVICE, PAGED, bad)
        assert got == _ask(usual, usual_keys, Role.SERVICE, PAGED, bad), bad
        assert "errors" in got[1], bad


def test_a_plan_never_lifts_a_limit_its_variables_would_break(
    client: TestClient,
    keys: Secured,
    usual: TestClient,
    usual_keys: Secured,
    ids: dict[str, Any],
) -> None:
    """Learned with a small page, asked with one over the cost limit: refused, as by the usual path."""
    small = {"id": ids["user"], "n": 2}
    assert "errors" not in _ask(client, keys, Role.ADMIN, WIDE, small)[1]
    assert "errors" not in _ask(client, keys, Role.ADMIN, WIDE, small)[1]
    big = {"id": ids["user"], "n": 100}
    got = _ask(client, keys, Role.ADMIN, WIDE, big)
    assert got == _ask(usual, usual_keys, Role.ADMIN, WIDE, big)
    assert got[1]["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    product = {"sku": ids["sku"], "n": 5}
    _ask(client, keys, Role.ADMIN, PRODUCT, product)
    over = {"sku": ids["sku"], "n": 1000}  # boughtWith takes at most 100
    got = _ask(client, keys, Role.ADMIN, PRODUCT, over)
    assert got == _ask(usual, usual_keys, Role.ADMIN, PRODUCT, over) and "errors" in got[1]


def test_a_document_learned_for_one_role_is_refused_to_another(
    client: TestClient,
    keys: Secured,
    ids: dict[str, Any],
) -> None:
    """An admin's profile page with identifying fields is planned for admins; an analyst (no customer
    ids) and a marketer (no look-ups of people) sending the same document are refused as before."""
    variables = {"id": ids["user"]}
    for _ in range(2):
        status, body = _ask(client, keys, Role.ADMIN, EVERYTHING, variables)
        assert status == 200 and "errors" not in body and "customerId" in body["data"]["user"]
    for role in (Role.ANALYST, Role.MARKETER):
        for _ in range(2):
            status, body = _ask(client, keys, role, EVERYTHING, variables)
            assert "data" not in body and body["errors"][0]["extensions"]["code"] == "FORBIDDEN", role


def test_reads_of_personal_data_are_audited_alike(
    client: TestClient,
    keys: Secured,
    usual: TestClient,
    usual_keys: Secured,
    ids: dict[str, Any],
) -> None:
    variables = {"id": ids["user"]}
    _ask(client, keys, Role.SERVICE, EVERYTHING, variables)  # learn
    fast_log, usual_log = AuditLog(keys.settings.audit_log_path), AuditLog(usual_keys.settings.audit_log_path)
    answered = _answered_as(client, keys)
    _ask(client, keys, Role.SERVICE, EVERYTHING, variables)
    _ask(usual, usual_keys, Role.SERVICE, EVERYTHING, variables)
    assert _answered_as(client, keys) == answered + 1
    fast, slow = fast_log.latest(1)[0], usual_log.latest(1)[0]
    assert fast.action == slow.action == "read" and fast.rows == slow.rows >= 2  # the user and friends
    assert (fast.what, fast.details) == (slow.what, slow.details)
    assert fast.role == slow.role == "service"

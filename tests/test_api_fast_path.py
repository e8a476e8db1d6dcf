"""The fast path (api/fast_path.py) against the usual path: the same documents, roles and variables asked of
an app with it and of one without, over the same graph; every body must be the same, refusals and errors
included, and the audit log must get the same entries. Then what an attacker might try: a document
learned for one role asked by another, variables that would break a limit once the plan is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.api.policy import Role
from personagraph.graph.audit import AuditLog
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import AnalysedGraph, Secured, one, secured

pytestmark = pytest.mark.neo4j

# The module's app (the `keys` fixture): bench/api.py's members page costs 3,553, a tie page of 200 more.
MAX_COST = 4000
API_SETTINGS = {"api_max_cost": MAX_COST}

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
# bench/api.py's members page (PERSONAGRAPH[MEMBERS]), verbatim.
MEMBERS_PAGE = (
    "query Members($definition: AudienceInput!) { "
    "audience(definition: $definition, purpose: ANALYSIS) { members(first: 50) { edges { node { id "
    "tags { tagId name tier weight source } "
    "friends(first: 5) { totalCount edges { node { id city } } } } } } } }"
)
# Every piece a members page may have, aliases and a page from variables; no ties, so marketers may ask.
MEMBERS_PAGED = (
    "query Paged($d: AudienceInput!, $p: Purpose = MARKETING, $n: Int = 7, $after: String) { "
    "crowd: audience(definition: $d, purpose: $p) { list: members(first: $n, after: $after) { "
    f"totalCount __typename {PAGE_INFO} edges {{ cursor __typename node {{ {USER_FIELDS} "
    "held: tags { tagId name tier weight source ruleId assignedAt expiresAt evidence } "
    "orders(first: 2) { totalCount edges { node { orderId total } } } } } } } }"
)
# No identifying fields and no ties: every role may ask it.
MEMBERS_PLAIN = (
    "query Plain($d: AudienceInput!, $p: Purpose = MARKETING, $n: Int = 5, $after: String) { "
    f"audience(definition: $d, purpose: $p) {{ members(first: $n, after: $after) {{ {PAGE_INFO} "
    "edges { cursor node { id city lifecycle rfm { score } influence { rank } tags { tagId weight } "
    "orders(first: 1) { totalCount edges { cursor } } } } } } }"
)
# bench/api.py's audience count (PERSONAGRAPH["audience count"]), verbatim.
BENCH_COUNT = (
    "query Count($definition: AudienceInput!) { "
    "audience(definition: $definition, purpose: ANALYSIS) { count { value } } }"
)
# Both counts with every Count field, aliased, in the order the usual path does not resolve them.
COUNTS = (
    "query Counts($d: AudienceInput!, $p: Purpose = MARKETING) { audience(definition: $d, purpose: $p) { "
    "excluded: excludedByConsent { __typename exact value fewerThan } count { value fewerThan exact } } }"
)
# A count beside a members page: the fields a marketer's builder shows together.
COUNT_AND_MEMBERS = (
    "query Sized($d: AudienceInput!, $p: Purpose = MARKETING, $n: Int = 4) { "
    "audience(definition: $d, purpose: $p) { members(first: $n) { edges { node { id city } } } "
    "size: count { value exact } } }"
)
WIDE_AUDIENCE = {"attribute": {"field": "country", "op": "eq", "value": "CN"}}  # most of the users
BOTH_WIDE = {
    "and": [WIDE_AUDIENCE, {"attribute": {"field": "gender", "op": "in", "value": ["female", "male"]}}]
}
SMALL_AUDIENCE = {"attribute": {"field": "city", "op": "eq", "value": "Kuala Lumpur"}}  # under the k floor
DEFINITIONS: dict[str, dict[str, Any]] = {
    "wide": WIDE_AUDIENCE,
    "two wide conditions": BOTH_WIDE,
    "under the k floor": SMALL_AUDIENCE,
    "padded: a small condition in a wide or": {"or": [SMALL_AUDIENCE, WIDE_AUDIENCE]},
    "ties: not for marketers": {"friends": {"atLeast": 1}},
    "a masked attribute: not for analysts": {"attribute": {"field": "birthYear", "op": "gt", "value": 1900}},
    "times, as the DateTime scalar reads them": {
        "and": [WIDE_AUDIENCE, {"behavior": {"action": "viewed", "from": "2000-01-01T00:00:00Z"}}]
    },
    "an id as a number": {"tag": {"tagId": 12345}},
    # Bad definitions: refused by graph/audiences/parse.py, or by the variables' coercion.
    "an unknown attribute": {"attribute": {"field": "shoeSize", "op": "eq", "value": 1}},
    "a bad operator value": {"attribute": {"field": "city", "op": "between", "value": 3}},
    "no condition": {},
    "two conditions in one": {**WIDE_AUDIENCE, "lifecycle": {"in": ["core"]}},
    "not a time": {"behavior": {"action": "viewed", "from": "yesterday"}},
}
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
    tag = one(
        graph, "MATCH (t:Tag) RETURN t.tagId AS tag ORDER BY COUNT { (t)<-[:HAS_TAG]-() } DESC, tag LIMIT 1"
    )
    city = one(graph, "MATCH (u:User) RETURN u.city AS city, count(*) AS n ORDER BY n DESC, city LIMIT 1")
    return {"user": busy, "sku": sku, "tag": tag["tag"], "city": city["city"]}


def _ask(client: TestClient, keys: Secured, role: Role, query: str, variables: dict[str, Any]) -> Any:
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=keys.headers(role)
    )
    return response.status_code, response.json()


def _asked_and_audited(
    client: TestClient, keys: Secured, role: Role, query: str, variables: dict[str, Any]
) -> tuple[Any, list[tuple[Any, ...]]]:
    """The answer, and the audit entries it added (their time and the key's name left out)."""
    log = AuditLog(keys.settings.audit_log_path)
    before = len(list(log.entries()))
    answer = _ask(client, keys, role, query, variables)
    added = list(log.entries())[before:]
    return answer, [(e.role, e.action, e.what, e.rows, e.details) for e in added]


def _answered_as(client: TestClient, keys: Secured) -> float:
    for line in client.get("/metrics", headers=keys.headers(Role.ADMIN)).text.splitlines():
        if line.startswith('persona_graphql_fast_path_total{outcome="answered"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


Case = tuple[str, str, dict[str, Any]]  # a name, a document, its variables


def _cases(ids: dict[str, Any]) -> list[Case]:
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


def _ask_both_ways(
    client: TestClient, keys: Secured, usual: TestClient, usual_keys: Secured, cases: list[Case]
) -> tuple[set[tuple[str, Role]], int]:
    """Each case asked by every role, of the usual app once and of the fast app twice (the first answer
    teaches it a plan when it has no error); every answer and the audit entries each added compared.
    Returns the (document, role) pairs planned and how many answers the fast path gave."""
    fast_answers = 0
    planned: set[tuple[str, Role]] = set()
    for name, query, variables in cases:
        for role in ROLES:
            want = _asked_and_audited(usual, usual_keys, role, query, variables)
            learned = _asked_and_audited(client, keys, role, query, variables)  # the usual path
            again = _asked_and_audited(client, keys, role, query, variables)  # the plan, where there is one
            assert learned == want, (name, role)
            assert again == want, (name, role)
            if "errors" not in want[0][1]:  # then the fast path answers its second ask, and both later on
                fast_answers += 2 if (query, role) in planned else 1
                planned.add((query, role))
    return planned, fast_answers


def test_both_paths_answer_alike_for_every_role(
    client: TestClient,
    keys: Secured,
    usual: TestClient,
    usual_keys: Secured,
    ids: dict[str, Any],
) -> None:
    answered_before = _answered_as(client, keys)
    _, fast_answers = _ask_both_ways(client, keys, usual, usual_keys, _cases(ids))
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
    big = {"id": ids["user"], "n": 200}
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


def _members_cases(ids: dict[str, Any]) -> list[Case]:
    tag_and_city = {  # as bench/api.py asks (its key is an admin's)
        "and": [
            {"tag": {"tagId": ids["tag"]}},
            {"attribute": {"field": "city", "op": "eq", "value": ids["city"]}},
        ]
    }
    cases = [
        ("bench's members page", MEMBERS_PAGE, {"definition": tag_and_city}),
        ("bench's members page, a wide audience", MEMBERS_PAGE, {"definition": WIDE_AUDIENCE}),
    ]
    for name, definition in DEFINITIONS.items():
        cases.append((f"{name}, for marketing", MEMBERS_PAGED, {"d": definition}))
        cases.append((f"{name}, for analysis", MEMBERS_PAGED, {"d": definition, "p": "ANALYSIS", "n": 3}))
        cases.append((f"{name}, plain", MEMBERS_PLAIN, {"d": definition}))
    return cases


def test_members_pages_answer_alike_for_every_role(
    client: TestClient, keys: Secured, usual: TestClient, usual_keys: Secured, ids: dict[str, Any]
) -> None:
    """bench/api.py's members page and a page with everything, every role, definitions each role may and
    may not use, under the k floor, padded, bad: the same bodies, and the same audit entries."""
    answered_before = _answered_as(client, keys)
    planned, fast_answers = _ask_both_ways(client, keys, usual, usual_keys, _members_cases(ids))
    answered = _answered_as(client, keys) - answered_before
    assert answered == fast_answers > 20
    # Each role answered some; the marketer only pages without ties, the analyst only pages without
    # identifying fields.
    assert {role for _, role in planned} == set(ROLES)
    assert {role for query, role in planned if query == MEMBERS_PAGE} == set(ROLES) - {Role.MARKETER}
    assert (MEMBERS_PAGE, Role.MARKETER) not in planned and (MEMBERS_PAGED, Role.ANALYST) not in planned
    assert (MEMBERS_PLAIN, Role.MARKETER) in planned and (MEMBERS_PLAIN, Role.ANALYST) in planned


def test_later_members_pages_answer_alike(
    client: TestClient, keys: Secured, usual: TestClient, usual_keys: Secured
) -> None:
    """Pages after the first (the cursor from the page before), a last page, and cursors and page sizes
    the usual path refuses."""
    for role in ROLES:
        variables: dict[str, Any] = {"d": BOTH_WIDE, "n": 30}
        _ask(client, keys, role, MEMBERS_PLAIN, variables)  # learn (if no test before did)
        answered_before, pages = _answered_as(client, keys), 0
        for _ in range(20):  # to the last page
            got = _asked_and_audited(client, keys, role, MEMBERS_PLAIN, variables)
            assert got == _asked_and_audited(usual, usual_keys, role, MEMBERS_PLAIN, variables), role
            page = got[0][1]["data"]["audience"]["members"]
            pages += 1
            if not page["pageInfo"]["hasNextPage"]:
                break
            variables = {**variables, "after": page["pageInfo"]["endCursor"]}
        else:
            raise AssertionError("no last page")
        for bad in (
            {**variables, "after": "not-a-cursor"},  # a cursor this API never issued
            {**variables, "n": 0},  # a page of nothing
            {**variables, "n": 5000},  # more than a page may hold
            {**variables, "n": "5"},  # a string for an Int
            {**variables, "p": "SHOPPING"},  # no such purpose
            {"n": 3},  # no definition
        ):
            got = _asked_and_audited(client, keys, role, MEMBERS_PLAIN, bad)
            assert got == _asked_and_audited(usual, usual_keys, role, MEMBERS_PLAIN, bad), (role, bad)
            assert "errors" in got[0][1], bad
        assert _answered_as(client, keys) - answered_before == pages > 3  # the pages; each refusal went back


def test_audience_counts_answer_alike_for_every_role(
    client: TestClient, keys: Secured, usual: TestClient, usual_keys: Secured, ids: dict[str, Any]
) -> None:
    """bench/api.py's audience count, both counts with every field, a count beside a members page: every
    role, every definition (under the k floor, padded, not the role's to use, bad): the same bodies
    (the same noise and floor below admin) and the same audit entries."""
    tag_and_city = {
        "and": [
            {"tag": {"tagId": ids["tag"]}},
            {"attribute": {"field": "city", "op": "eq", "value": ids["city"]}},
        ]
    }
    cases: list[Case] = [("bench's audience count", BENCH_COUNT, {"definition": tag_and_city})]
    for name, definition in DEFINITIONS.items():
        cases.append((f"{name}: counts for marketing", COUNTS, {"d": definition}))
        cases.append((f"{name}: counts for analysis", COUNTS, {"d": definition, "p": "ANALYSIS"}))
        cases.append((f"{name}: a count and members", COUNT_AND_MEMBERS, {"d": definition}))
    answered_before = _answered_as(client, keys)
    planned, fast_answers = _ask_both_ways(client, keys, usual, usual_keys, cases)
    assert _answered_as(client, keys) - answered_before == fast_answers > 30
    assert {role for query, role in planned if query == COUNTS} == set(ROLES)
    assert {role for query, role in planned if query == COUNT_AND_MEMBERS} == set(ROLES)
    # Below admin the counts are shown as the role may see them: rounded, or "fewer than k".
    small = _ask(client, keys, Role.MARKETER, COUNTS, {"d": SMALL_AUDIENCE})[1]["data"]["audience"]["count"]
    assert small["value"] is None and small["fewerThan"] == usual_keys.settings.privacy_k


def test_a_spent_count_budget_is_refused_alike(
    graph: AnalysedGraph, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    """A key whose count budget is spent gets RATE_LIMITED with the fast path as without it, and the
    counts it was shown before stay free (same question, same answer)."""
    answers = []
    for fast in (True, False):
        folder = tmp_path / f"fast-{fast}"
        folder.mkdir()
        keys = secured(folder, api_rate_limit=0, api_fast_path=fast, privacy_count_budget=2)
        with keys.client(neo4j_connection, None) as app:
            asked = [
                _ask(app, keys, Role.ANALYST, COUNTS, {"d": d, "p": "ANALYSIS"})[1]
                for d in (WIDE_AUDIENCE, WIDE_AUDIENCE, BOTH_WIDE, WIDE_AUDIENCE)
            ]
        answers.append(asked)
    fast_answers, usual_answers = answers
    assert fast_answers == usual_answers
    first, again, spent, old = fast_answers
    assert "errors" not in first and again == first == old  # two counts, shown twice: free
    assert spent["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

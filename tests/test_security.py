"""Security and privacy through the real app over a real Neo4j: authentication (API keys, JWT), the
role matrix, masking (including through aliases, fragments, audience filters and breakdowns), the
k-anonymity floor and the differencing attack on counts, consent, forget-me through the API, and the
audit log. docs/security.md lists what each test stands for."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from personagraph.api.app import create_app
from personagraph.api.auth import KeyFile
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import (
    AnalysedGraph,
    GraphQL,
    Secured,
    as_role,
    bearer,
    one,
    rows,
    secured,
)

JWT_SECRET = "a-test-secret-that-is-at-least-32-bytes-long"
# The settings of this module's app (the keys fixture of tests/conftest.py)
API_SETTINGS = {"jwt_secret": SecretStr(JWT_SECRET), "jwt_audience": "personagraph"}


# Authentication --------------------------------------------------------------------------------------


def test_no_credentials_is_401_except_health_and_the_ide_page(client: TestClient) -> None:
    refused = client.post("/graphql", json={"query": "{ __typename }"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert client.get("/graphql", params={"query": "{ __typename }"}).status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    assert client.get("/graphql", headers={"accept": "text/html"}).status_code == 200  # the IDE page


def test_the_console_page_is_open_and_holds_nothing_else_is(client: TestClient) -> None:
    """The console's page and files are static and served without a key (api/console.py); that opening
    lets nothing else through: no other method, no look-alike path, no way out of its folder."""
    page = client.get("/console")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "connect-src 'self'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]  # one hashed style only
    assert client.get("/console/assets/console.js").status_code == 200
    assert client.get("/console/vendor/cytoscape.esm.min.js").status_code == 200  # make install
    for path in (
        "/console/assets/%2e%2e/%2e%2e/auth.py",
        "/console/assets/..%2f..%2fauth.py",
        "/console/vendor/%2e%2e/%2e%2e/auth.py",
        "/console/vendor/..%2f..%2f..%2fauth.py",
    ):
        assert client.get(path).status_code == 404, path  # StaticFiles keeps to its folder
    assert client.post("/console").status_code == 401
    assert client.post("/console/assets/console.js").status_code == 401
    assert client.post("/console/vendor/cytoscape.esm.min.js").status_code == 401
    for path in (
        "/consoles",
        "/console-x",
        "/console/assetsx/console.js",
        "/console/vendorx/cytoscape.esm.min.js",
        "/console/graphql",
    ):
        assert client.get(path).status_code == 401, path
    # The page's operations need a key like any other.
    assert client.post("/graphql", json={"query": "{ tags { tagId } }"}).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    ["Bearer pg_deadbeef_not-a-key", "Bearer pg_", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer "],
)
def test_bad_credentials_are_401(client: TestClient, authorization: str) -> None:
    refused = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": authorization}
    )
    assert refused.status_code == 401, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_api_key_in_x_api_key_and_revocation(client: TestClient, keys: Secured) -> None:
    file = KeyFile(keys.settings.api_keys_path)
    stored, token = file.create("short-lived", "analyst")
    time.sleep(1.1)  # servers re-read the keys file at most once a second
    assert (
        client.post("/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": token}).status_code
        == 200
    )
    file.revoke(stored.key_id)
    time.sleep(1.1)
    assert client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(token)).status_code == 401


def test_metrics_need_admin_or_service(client: TestClient, keys: Secured) -> None:
    assert client.get("/metrics", headers=keys.headers("service")).status_code == 200
    assert client.get("/metrics", headers=keys.headers("analyst")).status_code == 403


def _token(role: str | None, **claims: Any) -> str:
    payload: dict[str, Any] = {
        "sub": "crm-app",
        "aud": "personagraph",
        "iat": datetime.now(UTC),
        "exp": datetime.now(UTC) + timedelta(minutes=5),
        **claims,
    }
    if role is not None:
        payload["role"] = role
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


def test_jwt_hs256(client: TestClient) -> None:
    ok = client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(_token("analyst")))
    assert ok.status_code == 200, ok.text
    expired = _token("analyst", exp=datetime.now(UTC) - timedelta(minutes=5))
    wrong_audience = _token("analyst", aud="someone-else")
    no_role = _token(None)
    odd_role = _token("superuser")
    forged = jwt.encode(
        {"sub": "x", "role": "admin", "aud": "personagraph", "exp": 2**31},
        "another-secret-of-32-bytes-or-more!!",
    )
    unsigned = jwt.encode(
        {"sub": "x", "role": "admin", "aud": "personagraph", "exp": 2**31}, None, algorithm="none"
    )
    for token in (expired, wrong_audience, no_role, odd_role, forged, unsigned):
        answer = client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(token))
        assert answer.status_code == 401, (token, answer.text)
    # a JWT's role is enforced like a key's
    denied = client.post(
        "/graphql",
        json={"query": '{ user(id: "x") { identities { kind } } }'},
        headers=bearer(_token("analyst")),
    )
    assert denied.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_jwt_rs256(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "issuer.pem").write_bytes(public_pem)
    settings = secured(tmp_path, jwt_algorithm="RS256", jwt_public_key_file=tmp_path / "issuer.pem").settings
    now = datetime.now(UTC)
    claims = {"sub": "svc", "role": "service", "iat": now, "exp": now + timedelta(minutes=5)}
    good = jwt.encode(claims, private, algorithm="RS256")
    # the public key used as an HS256 secret (algorithm confusion) must not pass
    confused = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    with TestClient(create_app(settings, connection=neo4j_connection)) as rs_client:
        assert (
            rs_client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(good)).status_code
            == 200
        )
        assert (
            rs_client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(confused)).status_code
            == 401
        )


# The role matrix -------------------------------------------------------------------------------------

ALLOWED = "ok"
DENIED = "FORBIDDEN"

# operation -> expected outcome per role (admin, service, marketer, analyst); docs/security.md's table.
MATRIX: dict[str, tuple[str, str, str, str]] = {
    "profile": (ALLOWED, ALLOWED, DENIED, ALLOWED),
    "identities": (ALLOWED, ALLOWED, DENIED, DENIED),  # marketers cannot look users up at all
    "birthYear": (ALLOWED, ALLOWED, DENIED, DENIED),
    "customerId": (ALLOWED, ALLOWED, DENIED, DENIED),
    "consentHistory": (ALLOWED, ALLOWED, DENIED, DENIED),
    "surveys": (ALLOWED, ALLOWED, DENIED, ALLOWED),
    "memberSurveys": (ALLOWED, ALLOWED, DENIED, ALLOWED),  # survey answers: psychographics, not for marketers
    "friends": (ALLOWED, ALLOWED, DENIED, ALLOWED),
    "influencers": (ALLOWED, ALLOWED, DENIED, ALLOWED),
    "audienceCount": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "audienceMembers": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "memberIdentities": (ALLOWED, ALLOWED, ALLOWED, DENIED),
    "memberFriends": (ALLOWED, ALLOWED, DENIED, ALLOWED),
    "analysisPurpose": (ALLOWED, ALLOWED, DENIED, ALLOWED),
    "aggregates": (ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "upsertUser": (ALLOWED, ALLOWED, DENIED, DENIED),
    "tagUser": (ALLOWED, ALLOWED, DENIED, DENIED),
    "setConsent": (ALLOWED, ALLOWED, DENIED, DENIED),
    "saveAudience": (ALLOWED, ALLOWED, ALLOWED, DENIED),
    # admins and marketers may push (their own saved audience), and are then refused by the k floor: the
    # generated graph has no advertising consent (tests/test_activation.py pushes one that has)
    "pushAudience": ("BAD_USER_INPUT", DENIED, "BAD_USER_INPUT", DENIED),
    "auditLog": (ALLOWED, DENIED, DENIED, DENIED),
}
ROLES = ("admin", "service", "marketer", "analyst")
BIG = '{attribute: {field: "marketingConsent", op: "eq", value: true}}'


def operations(user_id: str, role: str = "") -> dict[str, str]:
    return {
        "profile": f'{{ user(id: "{user_id}") {{ id city ageBand lifecycle tags {{ tagId }} }} }}',
        "identities": f'{{ user(id: "{user_id}") {{ identities {{ kind }} }} }}',
        "birthYear": f'{{ user(id: "{user_id}") {{ birthYear }} }}',
        "customerId": f'{{ user(id: "{user_id}") {{ customerId }} }}',
        "consentHistory": f'{{ user(id: "{user_id}") {{ consentHistory {{ purpose }} }} }}',
        "surveys": f'{{ user(id: "{user_id}") {{ surveys {{ answers {{ answer }} }} }} }}',
        "memberSurveys": f"{{ audience(definition: {BIG}) {{ members(first: 2) {{ edges {{ node {{ surveys {{ surveyId }} }} }} }} }} }}",
        "friends": f'{{ user(id: "{user_id}") {{ friends(first: 2) {{ totalCount }} }} }}',
        "influencers": "{ influencers(first: 3) { id } }",
        "audienceCount": f"{{ audience(definition: {BIG}) {{ count {{ value fewerThan }} }} }}",
        "audienceMembers": f"{{ audience(definition: {BIG}) {{ members(first: 2) {{ edges {{ node {{ id }} }} }} }} }}",
        "memberIdentities": f"{{ audience(definition: {BIG}) {{ members(first: 2) {{ edges {{ node {{ identities {{ kind }} }} }} }} }} }}",
        "memberFriends": f"{{ audience(definition: {BIG}) {{ members(first: 2) {{ edges {{ node {{ friends(first: 1) {{ totalCount }} }} }} }} }} }}",
        "analysisPurpose": f"{{ audience(definition: {BIG}, purpose: ANALYSIS) {{ count {{ value }} }} }}",
        "aggregates": "{ personas { name size } communities(first: 2) { size } tags { tagId users } }",
        "upsertUser": 'mutation { upsertUser(input: {id: "matrix-user", city: "Xi\'an"}) { id } }',
        "tagUser": f'mutation {{ tagUser(userId: "{user_id}", tagId: "vip") {{ created }} }}',
        "setConsent": f'mutation {{ setConsent(userId: "{user_id}", purpose: MARKETING, granted: true, source: "matrix test") {{ granted }} }}',
        "saveAudience": f'mutation {{ saveAudience(id: "matrix-aud-{role}", name: "m", definition: {BIG}) {{ id }} }}',
        "pushAudience": f'mutation {{ pushAudience(audienceId: "matrix-aud-{role}", platform: GOOGLE) {{ users }} }}',
        "auditLog": "{ auditLog(first: 1) { action } }",
    }


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client: TestClient, keys: Secured, graph: AnalysedGraph, role: str) -> None:
    user_id = one(graph, "MATCH (u:User)-[:FRIEND_OF]-() RETURN u.userId AS id ORDER BY id LIMIT 1")["id"]
    one(graph, "MERGE (t:Tag {tagId: 'vip'}) ON CREATE SET t.name = 'VIP', t.tier = 'preference' RETURN t")
    gql = as_role(client, keys, role)
    outcomes = {}
    for name, query in operations(user_id, role).items():  # each role saves its own audience
        body = gql.raw(query)
        outcomes[name] = body["errors"][0]["extensions"]["code"] if body.get("errors") else ALLOWED
    expected = {name: MATRIX[name][ROLES.index(role)] for name in MATRIX}
    assert outcomes == expected


@pytest.mark.parametrize("role", ROLES)
def test_the_viewer_says_what_its_role_may_not_read_and_that_is_what_is_refused(
    client: TestClient, keys: Secured, graph: AnalysedGraph, role: str
) -> None:
    """The console leaves out what the viewer says the role may not read: the list must be the truth."""
    user_id = one(graph, "MATCH (u:User) RETURN u.userId AS id ORDER BY id LIMIT 1")["id"]
    gql = as_role(client, keys, role)
    viewer = gql.data("{ viewer { subject role mayNotRead maskedAttributes } }")["viewer"]
    assert viewer["role"] == role and viewer["subject"]
    denied = set(viewer["mayNotRead"])
    reads = {  # one read per field a console screen selects that some role may not
        "Query.user": f'{{ user(id: "{user_id}") {{ id }} }}',
        "Query.auditLog": "{ auditLog(first: 1) { action } }",
        **{
            f"User.{field}": f'{{ user(id: "{user_id}") {{ {field}{sub} }} }}'
            for field, sub in (
                ("birthYear", ""),
                ("customerId", ""),
                ("identities", " { kind }"),
                ("consentHistory", " { purpose }"),
                ("surveys", " { surveyId }"),
                ("neighborhood", " { center }"),
            )
        },
    }
    for name, query in reads.items():
        code = (gql.raw(query).get("errors") or [{"extensions": {"code": "ok"}}])[0]["extensions"]["code"]
        if name in denied or (name.startswith("User.") and "Query.user" in denied):
            assert code == DENIED, (name, code)
        else:
            assert code == ALLOWED, (name, code)
    assert set(viewer["maskedAttributes"]) == {
        attr for attr in ("birthYear", "customerId") if f"User.{attr}" in denied
    }
    assert client.post("/graphql", json={"query": "{ viewer { role } }"}).status_code == 401


# Masking cannot be got round -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        '{ user(id: "UID") { year: birthYear } }',
        '{ user(id: "UID") { ...F } } fragment F on User { birthYear }',
        '{ user(id: "UID") { ... on User { customerId } } }',
        '{ user(id: "UID") { friends(first: 1) { edges { node { ...G } } } } } fragment G on User { identities { kind } }',
        "{ influencers(first: 1) { birthYear } }",
        "{ savedAudiences { audience { members(first: 1) { edges { node { customerId } } } } } }",
    ],
)
def test_masked_fields_are_refused_however_selected(
    client: TestClient, keys: Secured, graph: AnalysedGraph, query: str
) -> None:
    user = one(
        graph,
        "MATCH (u:User) WHERE u.birthYear IS NOT NULL RETURN u.userId AS id, u.birthYear AS year LIMIT 1",
    )
    body = as_role(client, keys, "analyst").raw(query.replace("UID", user["id"]))
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN" and body.get("data") is None
    assert "analyst" in error["message"] and str(user["year"]) not in json.dumps(body)


@pytest.mark.parametrize(
    ("query", "variables"),
    [  # filters, breakdowns and saved definitions are ways to read a masked attribute too
        (
            "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } } }",
            {"d": {"attribute": {"field": "birthYear", "op": "eq", "value": 1990}}},
        ),
        (
            "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } } }",
            {"d": {"not": {"attribute": {"field": "customerId", "op": "exists"}}}},
        ),
        (
            '{ audience(definition: {attribute: {field: "city", op: "exists"}}, purpose: ANALYSIS) { breakdown(by: "birthYear") { value } } }',
            {},
        ),
        ('{ savedAudience(id: "by-year") { audience { count { value } } } }', {}),
        ('{ savedAudience(id: "by-year") { definition } }', {}),
    ],
)
def test_masked_attributes_cannot_be_filtered_or_broken_down(
    client: TestClient, keys: Secured, query: str, variables: dict[str, Any]
) -> None:
    as_role(client, keys, "marketer").data(
        'mutation { saveAudience(id: "by-year", name: "1990s", '
        'definition: {attribute: {field: "birthYear", op: "between", value: [1990, 1999]}}) { id } }'
    )
    error = as_role(client, keys, "analyst").error(query, variables)
    assert error["extensions"]["code"] == "FORBIDDEN", error
    assert "analyst" in error["message"]
    assert as_role(client, keys, "admin").raw(query, variables).get("errors") is None


# The k-anonymity floor and the differencing attack ---------------------------------------------------

COUNT = "query($d: AudienceInput!, $p: Purpose!) { audience(definition: $d, purpose: $p) { count { value fewerThan exact } } }"


def count(gql: GraphQL, definition: dict[str, Any], purpose: str = "ANALYSIS") -> dict[str, Any]:
    result: dict[str, Any] = gql.data(COUNT, {"d": definition, "p": purpose})["audience"]["count"]
    return result


def test_small_audiences_are_fewer_than_k_and_not_listable(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    city = one(
        graph, "MATCH (u:User) WITH u.city AS c, count(*) AS n WHERE n < 60 RETURN c ORDER BY n DESC LIMIT 1"
    )["c"]
    small = {"attribute": {"field": "city", "op": "eq", "value": city}}
    exact = count(as_role(client, keys, "admin"), small)
    assert exact["exact"] and 0 < exact["value"] < 100
    for role in ("service", "marketer", "analyst"):
        gql = as_role(client, keys, role)
        purpose = "MARKETING" if role == "marketer" else "ANALYSIS"
        assert count(gql, small, purpose) == {"value": None, "fewerThan": 100, "exact": False}
        members = gql.error(
            "query($d: AudienceInput!, $p: Purpose!) { audience(definition: $d, purpose: $p) { members(first: 5) { edges { node { id } } } } }",
            {"d": small, "p": purpose},
        )
        assert members["extensions"]["code"] == "FORBIDDEN" and "fewer than 100" in members["message"]


def test_breakdown_hides_small_buckets_and_their_values(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    sizes: dict[Any, int] = {}
    for by in ("region", "ageBand", "incomeBand", "lifecycle", "education", "occupation", "city", "gender"):
        found = rows(graph, f"MATCH (u:User) WHERE u.{by} IS NOT NULL RETURN u.{by} AS v, count(*) AS n")
        sizes = {r["v"]: r["n"] for r in found}
        if max(sizes.values()) >= 130 and min(sizes.values()) < 90:
            break
    else:
        pytest.fail("no attribute with buckets both over and under the floor in the test graph")
    query = (
        f'{{ audience(definition: {{attribute: {{field: "{by}", op: "exists", value: true}}}}, purpose: ANALYSIS) '
        f'{{ breakdown(by: "{by}") {{ value grouped count {{ value fewerThan exact }} }} }} }}'
    )
    admin = as_role(client, keys, "admin").data(query)["audience"]["breakdown"]
    assert {b["value"]: b["count"]["value"] for b in admin} == sizes
    analyst = as_role(client, keys, "analyst").data(query)["audience"]["breakdown"]
    shown = {b["value"] for b in analyst if not b["grouped"]}
    assert shown and shown <= {v for v, n in sizes.items() if n >= 100 - 10}  # noise may hide one near k
    assert not shown & {v for v, n in sizes.items() if n < 100}  # never a value under the floor
    grouped = [b for b in analyst if b["grouped"]]
    assert len(grouped) == 1 and grouped[0]["value"] is None
    assert all(not b["count"]["exact"] for b in analyst)
    assert all(b["count"]["value"] is None or b["count"]["value"] % 10 == 0 for b in analyst)


def test_the_differencing_attack_does_not_single_anyone_out(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """count(A) - count(A and not x) says whether x is in A on exact counts; not on protected ones."""
    base = {"attribute": {"field": "gender", "op": "eq", "value": "female"}}
    people = rows(
        graph,
        "MATCH (u:User) WHERE u.influenceRank IS NOT NULL WITH u.influenceRank AS rank, collect(u) AS us "
        "WHERE size(us) = 1 RETURN rank, coalesce(us[0].gender = 'female', false) AS member ORDER BY rank",
    )
    members = [p for p in people if p["member"]][:30]
    others = [p for p in people if not p["member"]][:30]
    assert len(members) == len(others) == 30

    def accuracy(role: str) -> float:
        gql = as_role(client, keys, role)
        whole = count(gql, base)["value"]
        right = 0
        for person in members + others:
            pinned = {"attribute": {"field": "influenceRank", "op": "eq", "value": person["rank"]}}
            without = count(gql, {"and": [base, {"not": pinned}]})["value"]
            right += (whole - without > 0) == person["member"]
        return right / (len(members) + len(others))

    assert accuracy("admin") == 1.0  # the attack works on exact counts: the test can tell
    assert accuracy("analyst") <= 0.7  # near a coin toss on protected ones
    gql = as_role(client, keys, "analyst")
    assert len({count(gql, base)["value"] for _ in range(5)}) == 1  # asking again gives the same answer


def test_saving_an_audience_again_gives_no_fresh_noise(client: TestClient, keys: Secured) -> None:
    """Each save records a count in the history; the same count must show the same value every time,
    or saving one definition again and again would give samples to average."""
    save = (
        'mutation($d: AudienceInput!) { saveAudience(id: "sec-repeat", name: "Repeat", definition: $d, '
        'owner: "tests", purpose: ANALYSIS) { id } }'
    )
    definition = {"attribute": {"field": "gender", "op": "eq", "value": "female"}}
    admin = as_role(client, keys, "admin")
    for _ in range(8):
        admin.data(save, {"d": definition})
    read = '{ savedAudience(id: "sec-repeat") { history { count { value exact } } } }'
    exact = {h["count"]["value"] for h in admin.data(read)["savedAudience"]["history"]}
    shown = as_role(client, keys, "analyst").data(read)["savedAudience"]["history"]
    assert len(exact) == 1 and len(shown) >= 8  # the same true count, saved eight times
    assert len({h["count"]["value"] for h in shown}) == 1 and not shown[0]["count"]["exact"]


def test_each_key_below_admin_has_a_daily_budget_of_different_counts(
    graph: AnalysedGraph, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    keys = secured(tmp_path, api_rate_limit=0, privacy_count_budget=3)
    definition = {"attribute": {"field": "gender", "op": "eq", "value": "female"}}
    other = {"attribute": {"field": "gender", "op": "ne", "value": "female"}}
    both = (
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) "
        "{ count { value } excludedByConsent { value } } }"
    )
    with keys.client(neo4j_connection, None) as test_client:
        analyst = as_role(test_client, keys, "analyst")
        first = count(analyst, definition)
        assert first["value"] is not None
        analyst.data(both, {"d": definition})  # the count again (free: same answer) and one new count
        assert count(analyst, definition) == first  # asking again costs nothing
        assert count(analyst, other)["value"] is not None  # the third different count: budget spent
        error = analyst.error(COUNT, {"d": {"not": definition}, "p": "ANALYSIS"})
        assert (
            error["extensions"]["code"] == "RATE_LIMITED" and "3 different counts a day" in error["message"]
        )
        assert analyst.code(COUNT, {"d": {"not": other}, "p": "ANALYSIS"}) == "RATE_LIMITED"  # audited once
        assert count(analyst, definition) == first  # what it was shown stays answerable
        assert count(as_role(test_client, keys, "marketer"), definition, "MARKETING")["value"] is not None
        admin = as_role(test_client, keys, "admin")
        assert all(count(admin, definition)["exact"] for _ in range(5))  # admins see exact counts, unbudgeted
    spent = [e for e in keys.audit_entries() if e["action"] == "count-budget"]
    assert [(e["actor"], e["role"]) for e in spent] == [("test-analyst", "analyst")]


# Consent --------------------------------------------------------------------------------------------


def test_set_consent_is_recorded_and_honoured(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user = one(
        graph,
        "MATCH (u:User {marketingConsent: true}) WHERE coalesce(u.personalizationOptOut, false) = false "
        "AND EXISTS { (u)-[:PLACED]->() } RETURN u.userId AS id, u.city AS city LIMIT 1",
    )
    service = as_role(client, keys, "service")
    changed = service.data(
        'mutation($u: ID!) { m: setConsent(userId: $u, purpose: MARKETING, granted: false, source: "preference centre") { granted source at } '
        'p: setConsent(userId: $u, purpose: PERSONALISATION, granted: false, source: "app settings") { granted } }',
        {"u": user["id"]},
    )
    assert changed["m"]["granted"] is False and changed["m"]["source"] == "preference centre"
    history = service.data(
        "query($u: ID!) { user(id: $u) { marketingConsent personalizationOptOut consentHistory { purpose granted source } } }",
        {"u": user["id"]},
    )["user"]
    assert history["marketingConsent"] is False and history["personalizationOptOut"] is True
    assert {(c["purpose"], c["granted"], c["source"]) for c in history["consentHistory"]} >= {
        ("MARKETING", False, "preference centre"),
        ("PERSONALISED", False, "app settings"),  # the deprecated PERSONALISATION still accepted
    }
    definition = {
        "and": [
            {"attribute": {"field": "city", "op": "eq", "value": user["city"]}},
            {"attribute": {"field": "marketingConsent", "op": "exists"}},
        ]
    }
    members = as_role(client, keys, "admin").data(
        "query($d: AudienceInput!) { audience(definition: $d, purpose: MARKETING) { members(first: 500) { edges { node { id } } } } }",
        {"d": definition},
    )["audience"]["members"]["edges"]
    assert user["id"] not in {e["node"]["id"] for e in members}
    cross = service.data(
        "query($u: ID!) { crossSell(userId: $u) { personalised basedOn } }", {"u": user["id"]}
    )["crossSell"]
    assert cross["personalised"] is False and cross["basedOn"] == []


# Forget-me through the API --------------------------------------------------------------------------


def test_forget_user_through_the_api(client: TestClient, keys: Secured, graph: AnalysedGraph) -> None:
    user_id = one(
        graph,
        "MATCH (u:User)-[:FRIEND_OF]-() WHERE EXISTS { (u)-[:PLACED]->() } RETURN u.userId AS id ORDER BY id DESC LIMIT 1",
    )["id"]
    service = as_role(client, keys, "service")
    forgotten = service.data(
        "mutation($u: ID!) { forgetUser(userId: $u) { subject anonymisedOrders staleNeighbours } }",
        {"u": user_id},
    )["forgetUser"]
    assert (
        forgotten["anonymisedOrders"] > 0
        and forgotten["staleNeighbours"] > 0
        and user_id not in forgotten["subject"]
    )
    assert service.data("query($u: ID!) { user(id: $u) { id } }", {"u": user_id})["user"] is None
    for mutation in (
        'mutation($u: ID!) { upsertUser(input: {id: $u, city: "Xi\'an"}) { id } }',
        'mutation($u: ID!) { recordEvent(input: {userId: $u, kind: VIEW, at: "2025-01-01T00:00:00Z", target: "x"}) { new } }',
    ):
        error = service.error(mutation, {"u": user_id})
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and "forgotten" in error["message"]
    entries = [e for e in keys.audit_entries() if e["action"] == "forget"]
    assert (
        entries
        and entries[-1]["actor"] == "test-service"
        and entries[-1]["details"]["subject"] == forgotten["subject"]
    )
    assert user_id not in Path(keys.settings.audit_log_path).read_text()


# The audit log --------------------------------------------------------------------------------------


def test_audit_log_records_pii_reads_exports_and_mutations(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    users = [
        r["id"]
        for r in rows(
            graph, "MATCH (u:User)-[:HAS_IDENTITY]->() RETURN DISTINCT u.userId AS id ORDER BY id LIMIT 3"
        )
    ]
    before = len(keys.audit_entries())
    service = as_role(client, keys, "service")
    service.data("query Lookup($ids: [ID!]!) { users(ids: $ids) { id identities { kind } } }", {"ids": users})
    service.data(
        "query Plain($ids: [ID!]!) { users(ids: $ids) { id city } }", {"ids": users}
    )  # no PII: no entry
    as_role(client, keys, "marketer").data(
        f"query Export {{ audience(definition: {BIG}) {{ members(first: 7) {{ edges {{ node {{ id }} }} }} }} }}"
    )
    service.data(f'mutation Tag {{ tagUser(userId: "{users[0]}", tagId: "vip") {{ created }} }}')
    new = keys.audit_entries()[before:]
    summary = [(e["action"], e["what"], e["role"], e["rows"]) for e in new]
    assert summary == [  # `what`: the root fields that ran (the operation's name is the client's)
        ("read", "users", "service", 3),
        ("export", "audience", "marketer", 7),
        ("mutation", "tagUser", "service", 1),
    ], summary
    assert [e["details"]["client_operation_name"] for e in new] == ["Lookup", "Export", "Tag"]
    assert all(e["actor"].startswith("test-") and e["at"] for e in new)
    listed = as_role(client, keys, "admin").data("{ auditLog(first: 3) { action what rows } }")["auditLog"]
    assert [e["what"] for e in listed] == ["tagUser", "audience", "users"]


# Limits -----------------------------------------------------------------------------------------------


def test_strawberry_has_the_fragment_alias_fix() -> None:
    """CVE-2026-47707 (aliases hidden in fragment spreads) is fixed from strawberry-graphql 0.315.7."""
    installed = tuple(int(p) for p in version("strawberry-graphql").split(".")[:3])
    assert installed >= (0, 315, 7)

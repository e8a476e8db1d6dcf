"""Issue 14, holes 10 and 11, each attacked as an attacker would, through HTTP against the real app
over a real Neo4j (the CLI through typer's runner): audit gaps (mutations answering with personal
data, a client-chosen ``operationName`` naming the audit entry, `persona audience export`, GET
queries in the access log) and the smaller holes (exact small counts on tags and communities, an
error naming another user, unlimited bad-credential attempts, JWTs without a maximum lifetime, HTML
GETs passing authentication, ``exists`` without a value)."""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from personagraph.api.app import create_app
from personagraph.graph.audit import AuditLog
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import AnalysedGraph, Secured, as_role, bearer, one
from tests.live_server import live

JWT_SECRET = "an-attack-test-secret-of-at-least-32-bytes"
# The settings of this module's app (the keys fixture of tests/conftest.py)
API_SETTINGS = {"jwt_secret": SecretStr(JWT_SECRET), "jwt_audience": "personagraph"}


def pii_user(graph: AnalysedGraph) -> str:
    """A user with identities and a birth year."""
    found: str = one(
        graph,
        "MATCH (u:User)-[:HAS_IDENTITY]->() WHERE u.birthYear IS NOT NULL "
        "RETURN DISTINCT u.userId AS id ORDER BY id LIMIT 1",
    )["id"]
    return found


# 10. Audit gaps -------------------------------------------------------------------------------------


def test_a_mutation_answering_with_personal_data_is_audited_as_a_read(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """The attack: read identities, customer ids and birth years through a mutation's answer (an
    upsert that changes nothing, an order of one item), which used to leave only a `mutation` entry."""
    user = pii_user(graph)
    sku = one(graph, "MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku LIMIT 1")["sku"]
    service = as_role(client, keys, "service")
    before = len(keys.audit_entries())
    upserted = service.data(
        "mutation($id: ID!) { upsertUser(input: {id: $id}) { id identities { kind value } customerId } }",
        {"id": user},
    )["upsertUser"]
    assert upserted["identities"]
    ordered = service.data(
        "mutation($o: OrderInput!) { recordOrder(input: $o) { orderId user { id birthYear } } }",
        {
            "o": {
                "orderId": "attack-audit-order-1",
                "userId": user,
                "orderedAt": "2024-05-01T10:00:00Z",
                "lines": [{"sku": sku, "quantity": 1}],
            }
        },
    )["recordOrder"]
    assert ordered["user"]["birthYear"] is not None
    new = keys.audit_entries()[before:]
    summary = [(e["action"], e["what"], e["rows"]) for e in new]
    assert summary == [
        ("mutation", "upsertUser", 1),
        ("read", "upsertUser", 1),
        ("mutation", "recordOrder", 1),
        ("read", "recordOrder", 1),
    ], summary
    reads = [e for e in new if e["action"] == "read"]
    assert reads[0]["details"]["fields"] == ["User.customerId", "User.identities"]
    assert reads[1]["details"]["fields"] == ["User.birthYear"]
    assert all(e["role"] == "service" and e["actor"] == "test-service" for e in new)
    text = Path(keys.settings.audit_log_path).read_text(encoding="utf-8")
    assert not any(i["value"] in text for i in upserted["identities"])  # never the data itself


def test_the_client_cannot_name_its_own_audit_entry(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """The attack: call a PII read `HealthCheck` (or hide it in a root fragment `Harmless`) so that
    whoever reads the audit log sees something innocent. `what` names the root fields that ran; the
    client's name is kept apart as `client_operation_name`."""
    user = pii_user(graph)
    service = as_role(client, keys, "service")
    before = len(keys.audit_entries())
    service.data(f'query HealthCheck {{ ping: user(id: "{user}") {{ customerId }} }}')
    service.data(
        f'{{ ...Harmless }} fragment Harmless on Query {{ user(id: "{user}") {{ identities {{ kind }} }} }}'
    )
    response = client.post(
        "/graphql",
        json={
            "query": f'query A {{ __typename }} query Routine {{ user(id: "{user}") {{ customerId }} }}',
            "operationName": "Routine",
        },
        headers=keys.headers("service"),
    )
    assert response.status_code == 200 and not response.json().get("errors"), response.text
    service.data(f'mutation Noop {{ tagUser(userId: "{user}", tagId: "vip") {{ created }} }}')
    new = keys.audit_entries()[before:]
    assert [(e["action"], e["what"]) for e in new] == [
        ("read", "user"),
        ("read", "user"),
        ("read", "user"),
        ("mutation", "tagUser"),
    ], new
    assert [e["details"].get("client_operation_name") for e in new] == [
        "HealthCheck",
        None,
        "Routine",
        "Noop",
    ]
    assert new[-1]["details"]["fields"] == ["tagUser"]


def test_cli_audience_export_is_audited(
    graph: AnalysedGraph, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: an operator exports every member with `persona audience export` and leaves no trace."""
    from personagraph.cli.main import app
    from personagraph.graph.settings import get_settings

    audit_path = tmp_path / "audit.log"
    monkeypatch.setenv("PERSONA_AUDIT_LOG", str(audit_path))
    monkeypatch.setenv("PERSONA_SECRET_KEY", "attack-audit-cli-secret")
    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path / "data-dir"))
    get_settings.cache_clear()
    try:
        definition = tmp_path / "everyone.json"
        definition.write_text(json.dumps({"attribute": {"field": "city", "op": "exists", "value": True}}))
        runner = CliRunner()
        out = tmp_path / "members.csv"
        done = runner.invoke(
            app,
            ["audience", "export", str(definition), str(out), "--purpose", "analysis", "--actor", "ops-ana"],
        )
        assert done.exit_code == 0, done.output
        again = runner.invoke(app, ["audience", "export", str(definition), str(tmp_path / "again.csv")])
        assert again.exit_code == 0, again.output
    finally:
        get_settings.cache_clear()
    exported = out.read_text(encoding="utf-8").split()[1:]
    assert len(exported) > 100
    found = [e for e in AuditLog(audit_path).entries() if e.action == "export"]
    assert [(e.actor, e.role, e.what, e.rows) for e in found] == [
        ("ops-ana", "admin", "persona audience export", len(exported)),
        (getpass.getuser(), "admin", "persona audience export", found[1].rows),
    ]
    assert found[0].details["purpose"] == "analysis" and found[1].details["purpose"] == "marketing"
    text = audit_path.read_text(encoding="utf-8")
    assert not any(user_id in text for user_id in exported)


@pytest.fixture(scope="module")
def served(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[str]:
    """The app under a real uvicorn (its access log on, as `persona serve` runs it), in a thread."""
    with live(create_app(keys.settings, connection=neo4j_connection), "attacks-audit-server", "info") as url:
        yield url


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_get_queries_do_not_reach_the_access_log(served: str, keys: Secured, graph: AnalysedGraph) -> None:
    """The attack (or accident): a GET query carries an id and what was asked of it in the URL, and
    uvicorn's access log printed URLs whole, so anyone reading the logs read the queries."""
    user = pii_user(graph)
    lines = _Lines()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(lines)
    try:
        answer = httpx.get(
            f"{served}/graphql",
            params={
                "query": "query($u: ID!) { user(id: $u) { city } }",
                "variables": json.dumps({"u": user}),
            },
            headers=keys.headers("admin"),
            timeout=30,
        )
        assert answer.status_code == 200 and answer.json()["data"]["user"], answer.text
        refused = httpx.get(f"{served}/graphql", params={"query": f'{{ user(id: "{user}") {{ id }} }}'})
        assert refused.status_code == 401
    finally:
        access.removeHandler(lines)
    logged = [line for line in lines.lines if "/graphql" in line]
    assert len(logged) == 2, lines.lines
    assert all('"GET /graphql HTTP/1.1"' in line for line in logged), logged
    assert not any(user in line or "query" in line or "%7B" in line for line in lines.lines), lines.lines


# 11. Smaller holes ----------------------------------------------------------------------------------

K = 100  # PERSONA_PRIVACY_K's default, which the test app runs with

TAG_COUNTS = ("users", "manual", "rule", "model", "expired")
AGGREGATES = (
    "{ tags { tagId users manual rule model expired } "
    "communities(kind: SOCIAL, first: 100) { communityId size topCity } }"
)


FAR_UNDER = 40  # true counts this far under the floor of 100 are never shown (noise of scale 12)


def test_small_tag_and_community_counts_are_hidden_below_admin(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """The attack: `tags { users }` and `communities { size topCity }` gave every role exact counts, so
    a tag held by one person, or a community of three with its city, singled them out."""
    exact = as_role(client, keys, "admin").data(AGGREGATES)
    small_tags = {
        (t["tagId"], field): t[field] for t in exact["tags"] for field in TAG_COUNTS if 0 < t[field] < K
    }
    small_communities = {c["communityId"]: c for c in exact["communities"] if c["size"] < K}
    exact_sizes = {c["communityId"]: c["size"] for c in exact["communities"]}
    assert any(field == "users" and n < FAR_UNDER for (_, field), n in small_tags.items()), exact["tags"]
    assert any(n < FAR_UNDER for n in exact_sizes.values()), exact["communities"]
    assert any(c["topCity"] for c in small_communities.values()), exact["communities"]
    member = one(
        graph,
        "MATCH (u:User) WHERE u.socialCommunity IN $ids RETURN u.userId AS id ORDER BY id LIMIT 1",
        ids=[c for c, n in exact_sizes.items() if n < FAR_UNDER],
    )["id"]
    for role in ("service", "marketer", "analyst"):
        shown = as_role(client, keys, role).data(AGGREGATES)
        tags = {t["tagId"]: t for t in shown["tags"]}
        # The floor applies to the noisy count: far under it nothing is shown; near it, a noisy count may
        # reach the floor (so being shown tells nothing certain), but never exactly.
        for (tag_id, field), value in small_tags.items():
            got = tags[tag_id][field]
            assert got is None if value < FAR_UNDER else got is None or got % 10 == 0, (role, tag_id, value)
        for community in shown["communities"]:
            true_size = exact_sizes[community["communityId"]]
            if community["communityId"] in small_communities:
                assert community["topCity"] is None, (role, community)
            if true_size < FAR_UNDER:
                assert community["size"] is None, (role, community)
            else:  # protected like every other count (rounded to 10)
                assert community["size"] is None or community["size"] % 10 == 0, (role, community)
        if role != "marketer":  # marketers cannot look users up
            reached = as_role(client, keys, role).data(
                "query($u: ID!) { user(id: $u) { community { communityId size topCity } } }", {"u": member}
            )["user"]["community"]
            assert reached["size"] is None and reached["topCity"] is None, (role, reached)


def test_an_order_id_in_use_does_not_name_who_placed_it(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """The attack: record an order under a guessed order id for any user; the refusal named the user
    who had placed it ("placed by 'u0000001'"), pairing their order with their id."""
    placed = one(
        graph,
        "MATCH (u:User)-[:PLACED]->(o:Order)-[:CONTAINS]->(p:Product) "
        "MATCH (other:User) WHERE other <> u AND NOT (other)-[:PLACED]->(o) "
        "RETURN u.userId AS owner, o.orderId AS orderId, other.userId AS other, p.sku AS sku LIMIT 1",
    )
    error = as_role(client, keys, "service").error(
        "mutation($o: OrderInput!) { recordOrder(input: $o) { orderId } }",
        {
            "o": {
                "orderId": placed["orderId"],
                "userId": placed["other"],
                "orderedAt": "2024-05-01T10:00:00Z",
                "lines": [{"sku": placed["sku"], "quantity": 1}],
            }
        },
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert placed["owner"] not in error["message"] and "another user" in error["message"], error


def test_bad_credentials_are_rate_limited_per_client_ip(
    graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured, tmp_path: Path
) -> None:
    """The attack: try keys (or tokens) as fast as the network allows; bad credentials never reached
    the rate limit, which is per key. Past the default 30 refusals a minute, an address gets 429 for
    every request, its credentials unread (a right key then tells it nothing either)."""
    # A server of its own (its own state file: the module's other apps share theirs), fresh budgets.
    settings = keys.settings.model_copy(update={"api_state_path": tmp_path / "api-state.sqlite3"})
    app = create_app(settings, connection=neo4j_connection)
    query = {"query": "{ __typename }"}
    with TestClient(app) as attacker, TestClient(app, client=("203.0.113.7", 40000)) as bystander:
        answers = [
            attacker.post("/graphql", json=query, headers={"Authorization": f"Bearer pg_{i:08x}_guess"})
            for i in range(40)
        ]
        statuses = [a.status_code for a in answers]
        assert 429 in statuses, statuses
        first = statuses.index(429)
        assert first == 30 and set(statuses[:first]) == {401} and set(statuses[first:]) == {429}, statuses
        refused = answers[first]
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) >= 1
        assert attacker.post("/graphql", json=query).status_code == 429  # no credentials: counted too
        assert attacker.post("/graphql", json=query, headers=keys.headers("admin")).status_code == 429
        assert bystander.post("/graphql", json=query, headers=keys.headers("admin")).status_code == 200
        assert bystander.post("/graphql", json=query).status_code == 401  # its own budget


def _jwt(**claims: Any) -> str:
    import jwt

    payload = {"sub": "crm-app", "aud": "personagraph", "role": "analyst", **claims}
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


def test_jwts_need_iat_and_a_bounded_lifetime(client: TestClient) -> None:
    """The attack: keep using a token issued for ten years (or with no `iat` at all), leaked once."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)

    def status(token: str) -> int:
        answer = client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(token))
        return answer.status_code

    assert status(_jwt(iat=now, exp=now + timedelta(hours=1))) == 200
    assert status(_jwt(iat=now - timedelta(hours=1), exp=now + timedelta(hours=22))) == 200  # 23 h
    assert status(_jwt(exp=now + timedelta(hours=1))) == 401  # no iat
    assert status(_jwt(iat=now, exp=now + timedelta(days=3650))) == 401
    assert status(_jwt(iat=now - timedelta(hours=23), exp=now + timedelta(hours=2))) == 401  # 25 h
    refused = client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers=bearer(_jwt(iat=now, exp=now + timedelta(days=2))),
    )
    assert "lives too long" in refused.json()["errors"][0]["message"]


def test_only_the_ide_page_is_served_without_credentials(client: TestClient) -> None:
    """The attack: send `Accept: text/html` with a GET to any path; it passed authentication."""
    html = {"accept": "text/html"}
    assert client.get("/graphql", headers=html).status_code == 200  # the GraphiQL page itself
    for path in ("/metrics", "/graphql/", "/anything", "/docs"):
        answer = client.get(path, headers=html, follow_redirects=False)
        assert answer.status_code == 401, (path, answer.status_code, answer.text[:200])
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


COUNT = "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value exact } } }"


def test_exists_without_a_value_means_exists(client: TestClient, keys: Secured, graph: AnalysedGraph) -> None:
    """The attack (or trap): `{"field": "city", "op": "exists"}` compiled to `city IS NULL`, the
    opposite of what it says; and an op left without its value compared with null."""
    admin = as_role(client, keys, "admin")
    with_city = one(graph, "MATCH (u:User) WHERE u.city IS NOT NULL RETURN count(u) AS n")["n"]
    assert with_city > 0

    def counted(condition: dict[str, Any]) -> Any:
        return admin.data(COUNT, {"d": {"attribute": condition}})["audience"]["count"]["value"]

    assert counted({"field": "city", "op": "exists"}) == with_city
    assert counted({"field": "city", "op": "exists", "value": True}) == with_city
    assert counted({"field": "city", "op": "exists", "value": False}) != with_city
    error = admin.error(COUNT, {"d": {"attribute": {"field": "city", "op": "eq"}}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "city takes str values" in error["message"]

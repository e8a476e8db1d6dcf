"""Query limits (api/validation.py, api/cost.py, api/http_limits.py) against the real app over a real
Neo4j: depth, aliases (through fragment spreads too), tokens, estimated cost, body size, rate limit,
batching, and what PERSONA_ENV=production turns off (api/production.py: introspection, suggestions,
GraphiQL, error details).

The graph may be empty: every operation here asks for a user that does not exist, or is refused
before it runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from neo4j import Driver
from neo4j.exceptions import CypherSyntaxError

from personagraph.api.app import create_app
from personagraph.api.counts import CountBudget
from personagraph.api.rate_limiter import RateLimiter
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.tags import taxonomy
from tests.api_support import GraphQL, secured

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
def dev_client(
    neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    keys = secured(tmp_path_factory.mktemp("dev-keys"), env="development")
    with keys.client(neo4j_connection) as client:
        yield client


@pytest.fixture(scope="module")
def prod_client(
    neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    keys = secured(tmp_path_factory.mktemp("prod-keys"), env="production")
    with keys.client(neo4j_connection) as client:
        yield client


@pytest.fixture
def dev(dev_client: TestClient) -> GraphQL:
    return GraphQL(dev_client)


@pytest.fixture
def prod(prod_client: TestClient) -> GraphQL:
    return GraphQL(prod_client)


def nested_friends(levels: int, page: str = "") -> str:
    """user -> friends -> edges -> node, `levels` times: depth 1 + 3 x levels."""
    inner = "id"
    for _ in range(levels):
        inner = f"friends{page} {{ edges {{ node {{ {inner} }} }} }}"
    return f'{{ user(id: "nobody") {{ {inner} }} }}'


def aliases(n: int) -> str:
    return " ".join(f"a{i}: __typename" for i in range(n))


def too_complex(gql: GraphQL, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    error = gql.error(query, variables)
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX", error
    return error


# Depth ---------------------------------------------------------------------------------------------


def test_depth_at_the_limit_runs_and_over_it_is_refused(dev: GraphQL) -> None:
    assert dev.data(nested_friends(3)) == {"user": None}  # depth 10
    error = too_complex(dev, nested_friends(4))
    assert error["message"] == "Query depth 13 exceeds the limit 10"
    assert error["extensions"]["depth"] == 13 and error["extensions"]["maxDepth"] == 10


def test_depth_hidden_in_fragments_is_counted(dev: GraphQL) -> None:
    query = """
    { user(id: "nobody") { ...A } }
    fragment A on User { friends { edges { node { ...B } } } }
    fragment B on User { friends { edges { node { ...C } } } }
    fragment C on User { friends { edges { node { ...D } } } }
    fragment D on User { friends { edges { node { id } } } }
    """
    assert too_complex(dev, query)["message"] == "Query depth 13 exceeds the limit 10"


# Aliases -------------------------------------------------------------------------------------------


def test_aliases_over_the_limit_are_refused(dev: GraphQL) -> None:
    assert len(dev.data(f"{{ {aliases(30)} }}")) == 30
    error = too_complex(dev, f"{{ {aliases(31)} }}")
    assert error["message"].startswith("31 aliases exceed the limit 30")


def test_aliases_hidden_in_fragment_spreads_count_at_every_spread(dev: GraphQL) -> None:
    """CVE-2026-47707: 10 aliases written once, spread 4 times, are 40 aliases resolved."""
    spread = f"{{ ...F ...F ...F ...F }} fragment F on Query {{ {aliases(10)} }}"
    assert too_complex(dev, spread)["extensions"]["aliases"] == 40
    nested = f"""
    {{ ...F ...F }}
    fragment F on Query {{ ...G ...G }}
    fragment G on Query {{ ... on Query {{ {aliases(8)} }} }}
    """
    assert too_complex(dev, nested)["extensions"]["aliases"] == 32
    assert len(dev.data(f"{{ ...F ...F ...F }} fragment F on Query {{ {aliases(10)} }}")) == 10


def test_fragment_fan_out_is_counted_without_expanding_it(dev: GraphQL) -> None:
    """10 fragments each spreading the next 8 times: 8^9 aliases, counted in linear time.

    (strawberry 0.341.2's own MaxAliasesLimiter re-walks each spread: over a minute for this.)"""
    levels, width = 10, 8
    fragments = " ".join(
        f"fragment F{i} on Query {{ {' '.join([f'...F{i + 1}'] * width)} }}" for i in range(levels - 1)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels - 1} on Query {{ a: __typename }}"
    started = time.monotonic()
    error = too_complex(dev, query)
    assert error["extensions"]["aliases"] == width ** (levels - 1)
    assert time.monotonic() - started < 10


# Tokens --------------------------------------------------------------------------------------------


def test_tokens_over_the_limit_are_refused(dev: GraphQL) -> None:
    def users(n: int) -> str:  # 12 tokens around the n ids
        return "{ users(ids: [" + " ".join(f'"{i}"' for i in range(n)) + "]) { id } }"

    # within the token limit, the resolver's own cap (100 ids) answers
    assert dev.code(users(1988)) == "BAD_USER_INPUT"
    error = too_complex(dev, users(1989))
    assert "more than 2000 tokens" in error["message"]


# Cost ----------------------------------------------------------------------------------------------


def test_cost_over_the_limit_is_refused_with_the_numbers(dev: GraphQL) -> None:
    # user 1, friends 1, edges 1, node 100, friends 100, edges 100, node 10^4, ..., id 10^6
    error = too_complex(dev, nested_friends(3, "(first: 100)"))
    assert error["message"].startswith("Query cost 2030303 exceeds the limit 50000")
    assert error["extensions"]["cost"] == 2_030_303 and error["extensions"]["maxCost"] == 50_000
    assert dev.data(nested_friends(2, "(first: 100)")) == {"user": None}  # cost 20 303
    # a page no field serves counts as the largest served (1000): graph/'s page cap still answers
    assert dev.code("{ influencers(first: 100000) { id } }") == "BAD_USER_INPUT"


def test_cost_uses_variables_defaults_and_fragments(dev: GraphQL) -> None:
    with_variable = "query($n: Int!) " + nested_friends(3, "(first: $n)")
    assert "cost 2030303 exceeds" in too_complex(dev, with_variable, {"n": 100})["message"]
    assert dev.data(with_variable, {"n": 5}) == {"user": None}
    with_default = "query($n: Int! = 100) " + nested_friends(3, "(first: $n)")
    assert "cost 2030303 exceeds" in too_complex(dev, with_default)["message"]
    in_fragments = """
    { user(id: "nobody") { friends(first: 100) { edges { node { ...F } } } } }
    fragment F on User { friends(first: 100) { edges { node { ...G } } } }
    fragment G on User { friends(first: 100) { edges { node { id } } } }
    """
    assert "cost 2030303 exceeds" in too_complex(dev, in_fragments)["message"]
    # the schema's defaults (friends: 20) when no `first` is given: 17 263
    assert dev.data(nested_friends(3)) == {"user": None}


def test_limits_are_request_errors(dev_client: TestClient) -> None:
    """No `data`, and 400 when the client accepts application/graphql-response+json."""
    for query in (nested_friends(4), nested_friends(3, "(first: 100)"), "{ " + "a " * 2001 + "}"):
        response = dev_client.post("/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE})
        assert response.status_code == 400, response.text
        body = response.json()
        assert "data" not in body and body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


# HTTP: body size, batching, rate limit --------------------------------------------------------------


def test_body_over_the_cap_gets_413(dev_client: TestClient) -> None:
    padding = "x" * 100_000
    big = f'{{"query": "{{ __typename }}", "extensions": {{"pad": "{padding}"}}}}'.encode()
    response = dev_client.post("/graphql", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield big[:50_000]
        yield big[50_000:]

    chunked = dev_client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413

    fits = dev_client.post("/graphql", json={"query": "{ __typename }", "extensions": {"pad": "x" * 90_000}})
    assert fits.status_code == 200 and fits.json() == {"data": {"__typename": "Query"}}


def test_batched_operations_are_refused(dev_client: TestClient) -> None:
    response = dev_client.post("/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert response.status_code == 400
    assert "one operation per request" in response.text


class FakeClock:
    def __init__(self) -> None:
        # Whole seconds, so that the tests' whole-second steps are exact: from a fractional start,
        # now + 59 + 1 - start can come out as 59.99999999999 and miss a 60 s boundary.
        self.now = float(round(time.monotonic()))

    def __call__(self) -> float:
        return self.now


def test_rate_limit_answers_429_then_recovers(neo4j_connection: ConnectionInfo, tmp_path: Path) -> None:
    keys = secured(tmp_path, api_rate_limit=3)
    app = create_app(keys.settings, connection=neo4j_connection)
    limiter: RateLimiter = app.state.rate_limiter
    clock = FakeClock()
    limiter.clock = clock
    query = {"query": "{ __typename }"}
    with TestClient(app, headers=keys.headers("analyst")) as client:
        assert [client.post("/graphql", json=query).status_code for _ in range(3)] == [200, 200, 200]
        refused = client.post("/graphql", json=query)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "20"  # 3 a minute: one token every 20 s
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert client.get("/healthz").status_code == 200  # probes are not limited
        clock.now += 10
        assert client.post("/graphql", json=query).headers["retry-after"] == "10"
        clock.now += 10
        assert client.post("/graphql", json=query).status_code == 200
        assert client.post("/graphql", json=query).status_code == 429
        clock.now += 60  # a full minute idle refills the whole bucket
        assert [client.post("/graphql", json=query).status_code for _ in range(4)] == [200, 200, 200, 429]
        # the budget is the key's: another key of the same client IP has its own
        other = client.post("/graphql", json=query, headers=keys.headers("service"))
        assert other.status_code == 200


def test_rate_limit_buckets_are_per_key() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    assert limiter.acquire("a") == limiter.acquire("a") == 0.0
    assert limiter.acquire("a") == 30.0  # 2 a minute: the next token in 30 s
    assert limiter.acquire("b") == 0.0  # another client (or, later, another API key) is not affected


def test_the_count_budget_is_daily_and_reports_a_refusal_once_a_minute() -> None:
    clock = FakeClock()
    budget = CountBudget(2, clock=clock)
    assert budget.spend("k", ("q1",)) == budget.spend("k", ("q2",)) == 0.0
    assert budget.spend("k", ("q3",)) == 43_200.0  # 2 a day: the next count in 12 hours
    assert budget.spend("k", ("q1",)) == 0.0  # a question already answered is free: same answer
    assert budget.spend("other", ("q1",)) == 0.0  # ... to that key only
    assert budget.first_refusal("k") and not budget.first_refusal("k")
    clock.now += 59
    assert not budget.first_refusal("k")
    clock.now += 1
    assert budget.first_refusal("k") and budget.first_refusal("other")


# Cypher transaction timeout ------------------------------------------------------------------------


def test_a_statement_over_the_transaction_timeout_is_stopped_with_a_coded_error(
    neo4j_connection: ConnectionInfo, driver: Driver, tmp_path: Path
) -> None:
    """A write that waits on a lock held elsewhere is stopped by Neo4j after PERSONA_API_QUERY_TIMEOUT_S:
    the client gets TIMEOUT and a message that says what to do, not a hang nor Neo4j's text."""
    keys = secured(tmp_path, api_query_timeout_s=1.0)
    user = "timeout-user"
    driver.execute_query("MERGE (u:User {userId: $id})", id=user, database_=neo4j_connection.database)
    upsert = 'mutation($u: ID!) { upsertUser(input: {id: $u, city: "Hangzhou"}) { id city } }'
    try:
        with driver.session(database=neo4j_connection.database) as session:
            held = session.begin_transaction()
            held.run("MATCH (u:User {userId: $id}) SET u.city = 'held'", id=user).consume()
            try:
                with keys.client(neo4j_connection) as client:
                    response = client.post("/graphql", json={"query": upsert, "variables": {"u": user}})
            finally:
                held.rollback()
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["data"] is None, body
        error = body["errors"][0]
        assert error["extensions"] == {"code": "TIMEOUT"}, error
        assert "1 s" in error["message"], error
        for leak in ("Neo.", "neo4j", "MATCH", "Transaction", "Traceback"):
            assert leak not in response.text, response.text

        with keys.client(neo4j_connection) as client:  # the lock gone, the same write goes through
            after = GraphQL(client).data(upsert, {"u": user})
        assert after["upsertUser"] == {"id": user, "city": "Hangzhou"}
    finally:
        driver.execute_query(
            "MATCH (u:User {userId: $id}) DETACH DELETE u", id=user, database_=neo4j_connection.database
        )


# Production ----------------------------------------------------------------------------------------


def test_introspection_only_outside_production(dev: GraphQL, prod: GraphQL) -> None:
    assert dev.data("{ __schema { queryType { name } } }")["__schema"]["queryType"]["name"] == "Query"
    for query in ("{ __schema { types { name } } }", '{ __type(name: "User") { name } }'):
        error = prod.error(query)
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "introspection has been disabled" in error["message"]
    assert prod.data("{ __typename }") == {"__typename": "Query"}


def test_no_suggestions_in_production(dev: GraphQL, prod: GraphQL) -> None:
    wrong = [
        ('{ usr(id: "1") { id } }', None),
        ('{ user(id: "1") { idd } }', None),
        ("{ communities(kind: SOCIA) { communityId } }", None),
        ("query($k: CommunityKind!) { communities(kind: $k) { communityId } }", {"k": "SOCIA"}),
    ]
    for query, variables in wrong:
        assert "Did you mean" in str(dev.raw(query, variables)["errors"]), query
        body = prod.raw(query, variables)
        assert body["errors"] and "Did you mean" not in str(body), body
        assert body["errors"][0]["extensions"]["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT")


def test_graphiql_only_outside_production(dev_client: TestClient, prod_client: TestClient) -> None:
    page = dev_client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    refused = prod_client.get("/graphql", headers={"accept": "text/html"})
    assert refused.status_code == 404 and "graphiql" not in refused.text.lower()
    query = prod_client.get("/graphql", params={"query": "{ __typename }"})
    assert query.json() == {"data": {"__typename": "Query"}}  # GET queries still work


@pytest.mark.parametrize(
    "failure",
    [
        RuntimeError("MATCH (t:Tag) WHERE t.tier = $tier RETURN t -- bolt://db.internal:7687"),
        CypherSyntaxError("Neo.ClientError.Statement.SyntaxError: Invalid input 'MATCH (t:Tag'"),
    ],
    ids=["runtime", "neo4j"],
)
def test_unexpected_errors_do_not_leak(
    prod: GraphQL, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise failure

    monkeypatch.setattr(taxonomy, "list_tags", broken)
    response = prod.client.post("/graphql", json={"query": "{ tags { tagId name } }"})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["message"] == "Unexpected error; it has been logged."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    for secret in ("MATCH", "Tag", "Neo.", "neo4j", "bolt", "Traceback", "SyntaxError"):
        assert secret not in response.text, response.text

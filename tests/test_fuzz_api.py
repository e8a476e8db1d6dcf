"""Property-based fuzzing of the GraphQL API: hypothesis-graphql builds queries and mutations from the
live schema, run through the real app against a real, analysed graph.

Every answer must be HTTP 200 with a JSON body whose errors all carry a known ``extensions.code``, none
``INTERNAL_SERVER_ERROR``, and no stack trace, driver class or Cypher text anywhere in an error.

The generated documents are made more useful before they are sent (``render``): a ``@oneOf`` input
keeps one field (hypothesis-graphql does not know the directive, so it would send several), and
arguments that name something (a user id, a sku, a tag, an attribute, an operator, a page size) take,
with some probability, a value that exists in the graph, so resolvers run past their look-ups rather
than stopping at NOT_FOUND. bench/fuzz.py runs the same generator for 10,000 operations.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
import pytest
from fastapi.testclient import TestClient
from graphql import (
    DocumentNode,
    FloatValueNode,
    GraphQLInputObjectType,
    IntValueNode,
    NameNode,
    Node,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    Visitor,
    get_named_type,
)
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from personagraph.api.schema import schema as api_schema
from personagraph.graph.audiences.model import BREAKDOWN_FIELDS, LIFECYCLE_TIERS, OPS_BY_TYPE, USER_FIELDS
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from tests.api_support import AnalysedGraph, Secured

# graphql-core parses the SDL with @oneOf as a real one-of input (strawberry's own schema object marks
# it only by a directive), so the rewrite below can find such inputs by their type.
SCHEMA = graphql.build_schema(api_schema.as_str())

CODES = frozenset(
    {
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "FORBIDDEN",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "OPERATION_RESOLUTION_FAILURE",
        "QUERY_TOO_COMPLEX",
        "TIMEOUT",
        "UNAVAILABLE",
    }
)
INTERNAL = "INTERNAL_SERVER_ERROR"
# Text that means a stack trace, a driver exception or a Cypher statement reached the client.
TRACE_MARKERS = ("Traceback", 'File "', "neo4j.", "MATCH (", "DETACH DELETE", "UNWIND $")

ADMIN_EXAMPLES = 400
ANALYST_EXAMPLES = 120
SEED = 20250611

# --- custom scalars --------------------------------------------------------------------------------

GRAPHQL_NAMES = st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,8}\Z")
REALISTIC_JSON: list[Any] = [
    "Shanghai",
    "Beijing",
    "f",
    "m",
    "core",
    "loyal",
    1990,
    [1980, 2000],
    ["Shanghai", "Beijing"],
    True,
    0.5,
]


def json_node(value: Any) -> ValueNode:
    """A JSON value as a GraphQL literal."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([json_node(v) for v in value])
    return nodes.Object(
        [ObjectFieldNode(name=NameNode(value=k), value=json_node(v)) for k, v in value.items()]
    )


JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(REALISTIC_JSON)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(GRAPHQL_NAMES, inner, max_size=3),
    max_leaves=8,
)
# Offsets Neo4j accepts (up to 18 h); Python's up to 24 h are test_extreme_times_in_every_datetime_argument's.
OFFSETS = st.integers(-18 * 60, 18 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
GOOD_DATETIMES = st.one_of(
    st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31)),  # naive, and far from now
    st.datetimes(datetime(1, 1, 1), datetime(9999, 12, 31), timezones=OFFSETS),
).map(lambda d: d.isoformat())
BAD_DATETIMES = st.sampled_from(["not a date", "2025-13-45T25:61:00Z", "", "1700000000", "2025-01-01", "-1"])
# One in 25 is not a time: the whole operation is then a validation error, its fields never run.
DATETIMES = st.integers(0, 24).flatmap(lambda i: BAD_DATETIMES if i == 0 else GOOD_DATETIMES)
CUSTOM_SCALARS = {"JSON": JSON_VALUES.map(json_node), "DateTime": DATETIMES.map(nodes.String)}


def _document(doc: DocumentNode) -> DocumentNode:
    return doc


# A generated document and the random source ``render`` draws its substitutions from.
CASES = st.tuples(
    from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS, print_ast=_document),
    st.randoms(use_true_random=False),
)

# --- values that exist -----------------------------------------------------------------------------

# Which pool an argument or input field draws from: "<parent>.<name>" first, then "<name>". The
# parent is the field (for an argument) or the input field holding the object.
POOL_OF: dict[str, str] = {
    "savedAudience.id": "audiences",
    "saveAudience.id": "audiences",
    "forgetUser.userId": "forgettable",
    "lifecycle.in": "lifecycles",
    "persona.in": "personas",
    "community.in": "communities",
    "analyticsRuns.kind": "run_kinds",
    "auditLog.action": "audit_actions",
    "id": "users",
    "ids": "users",
    "userId": "users",
    "sku": "skus",
    "target": "skus",
    "tagId": "tags",
    "channelId": "channels",
    "acquiredVia": "channels",
    "communityId": "communities",
    "field": "fields",
    "op": "ops",
    "action": "actions",
    "by": "breakdown",
    "brand": "brands",
    "category": "categories",
    "city": "cities",
    "orderId": "orders",
    "first": "small",
    "limit": "small",
    "atLeast": "small",
    "minCount": "small",
    "quantity": "small",
    "minRank": "small",
    "maxRank": "ranks",
    "depth": "hops",
    "maxHops": "hops",
    "lastDays": "days",
    "birthYear": "years",
    "weight": "weights",
    "minWeight": "weights",
    "minScore": "scores",
    "maxScore": "scores",
    "unitPrice": "prices",
}
SUBSTITUTE = 0.6  # how often a value with a pool is replaced by one from it
RARELY = {"forgettable": 0.03}  # forgetting real users would empty the graph over a long run

CONSTANT_POOLS: dict[str, list[Any]] = {
    "audiences": ["fuzz-a", "fuzz-b", "fuzz-c"],
    "orders": ["fuzz-o1", "fuzz-o2", "fuzz-o3"],
    "run_kinds": ["influence", "communities", "copurchase", "segments", "personas", "attribution"],
    "audit_actions": ["read", "export", "mutation", "forget"],
    "lifecycles": list(LIFECYCLE_TIERS),
    "fields": list(USER_FIELDS),
    "ops": sorted({op for ops in OPS_BY_TYPE.values() for op in ops}),
    "actions": ["bought", "viewed", "clicked", "liked", "commented", "shared"],
    "breakdown": list(BREAKDOWN_FIELDS),
    "small": [1, 2, 3, 5, 10],
    "ranks": [5, 20, 100],
    "hops": [1, 2, 3],
    "days": [7, 30, 365],
    "years": [1960, 1985, 2001],
    "weights": [0.1, 0.5, 1.0],
    "scores": [0.0, 0.001, 0.01],
    "prices": [0.0, 9.99, 120.0],
}

# Static read-only queries (values as parameters, none here) collecting ids that exist.
GRAPH_POOLS: dict[str, str] = {
    "users": "MATCH (u:User) RETURN u.userId AS v ORDER BY v LIMIT 60",
    "forgettable": "MATCH (u:User) RETURN u.userId AS v ORDER BY v DESC LIMIT 20",
    "skus": "MATCH (p:Product) RETURN p.sku AS v ORDER BY v LIMIT 40",
    "tags": "MATCH (t:Tag) RETURN t.tagId AS v ORDER BY v",
    "channels": "MATCH (c:Channel) RETURN c.channelId AS v ORDER BY v",
    "communities": "MATCH (u:User) WHERE u.socialCommunity IS NOT NULL "
    "RETURN DISTINCT u.socialCommunity AS v ORDER BY v LIMIT 20",
    "personas": "MATCH (u:User) WHERE u.persona IS NOT NULL RETURN DISTINCT u.persona AS v ORDER BY v",
    "brands": "MATCH (b:Brand) RETURN coalesce(b.name, b.brandId) AS v ORDER BY v LIMIT 20",
    "categories": "MATCH (c:Category) RETURN c.categoryId AS v ORDER BY v LIMIT 20",
    "cities": "MATCH (u:User) WHERE u.city IS NOT NULL RETURN DISTINCT u.city AS v ORDER BY v LIMIT 20",
}


@dataclass(frozen=True)
class Pools:
    values: Mapping[str, Sequence[Any]]

    def pick(self, slot: Sequence[str], rng: random.Random) -> Any | None:
        """A value for the argument or input field at ``slot`` (names from the outside in), or None to
        keep the generated one."""
        name = slot[-1] if slot else ""
        parent = slot[-2] if len(slot) > 1 else ""
        pool = POOL_OF.get(f"{parent}.{name}") or POOL_OF.get(name)
        values = self.values.get(pool or "")
        if not values or rng.random() >= RARELY.get(pool or "", SUBSTITUTE):
            return None
        return rng.choice(list(values))


def pools_from(store: GraphStore) -> Pools:
    """Ids present in the graph (and fixed names for what fuzzing creates), for ``render``."""
    found: dict[str, Sequence[Any]] = dict(CONSTANT_POOLS)
    for name, query in GRAPH_POOLS.items():
        records, _, _ = store.driver.execute_query(query, database_=store.database)
        found[name] = [r["v"] for r in records if r["v"] is not None]
    return Pools(found)


# --- rendering -------------------------------------------------------------------------------------


class _Rewrite(Visitor):
    """Keeps one field of each @oneOf object and swaps pooled scalars for values that exist."""

    def __init__(self, type_info: TypeInfo, pools: Pools, rng: random.Random) -> None:
        super().__init__()
        self.type_info, self.pools, self.rng = type_info, pools, rng

    def enter_object_value(self, node: ObjectValueNode, *_: Any) -> ObjectValueNode | None:
        named = get_named_type(self.type_info.get_input_type())
        if not isinstance(named, GraphQLInputObjectType) or not named.is_one_of or len(node.fields) == 1:
            return None
        given = [f for f in node.fields if not isinstance(f.value, NullValueNode)] or list(node.fields)
        return ObjectValueNode(fields=(given[0],))

    def _scalar(self, parent: Any, ancestors: Sequence[Any]) -> ValueNode | None:
        chain = [*ancestors, parent]  # the node's own argument or input field is its parent
        slot = [a.name.value for a in chain if isinstance(a, graphql.ArgumentNode | ObjectFieldNode)]
        field_names = [a.name.value for a in chain if isinstance(a, graphql.FieldNode)]
        if field_names and len(slot) == 1:  # an argument: its field is the parent
            slot = [field_names[-1], *slot]
        value = self.pools.pick(slot, self.rng)
        scalar = get_named_type(self.type_info.get_input_type())
        kind = scalar.name if scalar is not None else ""
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, str):
            return nodes.String(value) if kind in ("ID", "String") else None
        if isinstance(value, int) and kind in ("Int", "Float"):
            return nodes.Int(value)
        return nodes.Float(value) if isinstance(value, float) and kind == "Float" else None

    def enter_string_value(
        self, node: StringValueNode, key: Any, parent: Any, path: Any, ancestors: Any
    ) -> Any:
        return self._scalar(parent, ancestors)

    def enter_int_value(self, node: IntValueNode, key: Any, parent: Any, path: Any, ancestors: Any) -> Any:
        return self._scalar(parent, ancestors)

    def enter_float_value(
        self, node: FloatValueNode, key: Any, parent: Any, path: Any, ancestors: Any
    ) -> Any:
        return self._scalar(parent, ancestors)


def render(document: DocumentNode, rng: random.Random, pools: Pools) -> str:
    """The document as sent: one field per @oneOf object, some names replaced by ones that exist."""
    type_info = TypeInfo(SCHEMA)
    rewritten: Node = graphql.visit(document, TypeInfoVisitor(type_info, _Rewrite(type_info, pools, rng)))
    return graphql.print_ast(rewritten)


# --- checking --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One operation's answer, judged."""

    query: str
    status: int
    codes: tuple[str, ...]
    problems: tuple[str, ...]
    ms: float
    body: str = field(repr=False, default="")

    @property
    def kind(self) -> str:
        """``ok``, ``error:<CODE>`` (the first error's code) or ``failure``."""
        if self.problems:
            return "failure"
        return f"error:{self.codes[0]}" if self.codes else "ok"


def judge(status: int, text: str) -> tuple[tuple[str, ...], list[str]]:
    """The error codes of an answer and what is wrong with it (nothing, for a good answer)."""
    problems: list[str] = []
    if status != 200:
        problems.append(f"HTTP {status}")
    for marker in ("Traceback", 'File "'):
        if marker in text:
            problems.append(f"response contains {marker!r}")
    try:
        body = json.loads(text)
    except ValueError:
        return (), [*problems, "body is not JSON"]
    if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
        return (), [*problems, "body has neither data nor errors"]
    codes: list[str] = []
    for error in body.get("errors") or []:
        extensions = error.get("extensions") or {}
        code = str(extensions.get("code"))
        codes.append(code)
        if code == INTERNAL:
            problems.append(f"{INTERNAL} at {error.get('path')}")
        elif code not in CODES:
            problems.append(f"error without a known code: {error}")
        shown = json.dumps(error, ensure_ascii=False)
        problems += [f"error shows {m!r}: {error.get('message')}" for m in TRACE_MARKERS if m in shown]
    return tuple(codes), problems


class Fuzzer:
    """Sends rendered cases as one role and judges each answer."""

    def __init__(self, client: TestClient, pools: Pools, headers: Mapping[str, str]) -> None:
        self.client, self.pools, self.headers = client, pools, dict(headers)

    def run(self, case: tuple[DocumentNode, random.Random]) -> Outcome:
        return self.send(self.render(case))

    def render(self, case: tuple[DocumentNode, random.Random]) -> str:
        return render(case[0], case[1], self.pools)

    def send(self, query: str) -> Outcome:
        started = time.perf_counter()
        response = self.client.post("/graphql", json={"query": query}, headers=self.headers)
        ms = (time.perf_counter() - started) * 1000
        codes, problems = judge(response.status_code, response.text)
        return Outcome(query, response.status_code, codes, tuple(problems), ms, response.text)


# --- tests -----------------------------------------------------------------------------------------


ANALYSED_USERS = 200  # the users of this module's graph (tests/conftest.py's graph fixture)


@pytest.fixture(scope="module")
def client(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[TestClient]:
    # an unhandled exception is a 500 (which fails the check), so the failing operation is the one reported
    with keys.client(neo4j_connection, None, crash_as_500=True) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def pools(graph: AnalysedGraph) -> Pools:
    return pools_from(graph.store)


FUZZ_SETTINGS = settings(
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure names its operation already
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _assert_good(outcome: Outcome) -> None:
    assert not outcome.problems, (
        f"{'; '.join(outcome.problems)}\n--- operation\n{outcome.query}\n--- answer\n{outcome.body[:3000]}"
    )


@seed(SEED)
@settings(FUZZ_SETTINGS, max_examples=ADMIN_EXAMPLES)
@given(case=CASES)
def test_generated_operations_as_admin(
    case: tuple[DocumentNode, random.Random], client: TestClient, keys: Secured, pools: Pools
) -> None:
    _assert_good(Fuzzer(client, pools, keys.headers("admin")).run(case))


@seed(SEED + 1)
@settings(FUZZ_SETTINGS, max_examples=ANALYST_EXAMPLES)
@given(case=CASES)
def test_generated_operations_as_analyst(
    case: tuple[DocumentNode, random.Random], client: TestClient, keys: Secured, pools: Pools
) -> None:
    """Analysts may not call mutations or read identifying fields: refused as FORBIDDEN, still coded."""
    _assert_good(Fuzzer(client, pools, keys.headers("analyst")).run(case))


def test_render_keeps_one_field_per_one_of_input() -> None:
    """The rewrite the fuzzing relies on: a @oneOf AudienceInput with two conditions keeps the first."""
    document = graphql.parse(
        '{ audience(definition: {lifecycle: {in: ["x"]}, not: {tag: {tagId: "t"}, persona: null}}) '
        "{ count { value } } }"
    )
    text = render(document, random.Random(0), Pools({}))
    assert graphql.print_ast(graphql.parse(text)) == graphql.print_ast(
        graphql.parse('{ audience(definition: {lifecycle: {in: ["x"]}}) { count { value } } }')
    ), text


def test_judge_flags_what_must_never_reach_a_client() -> None:
    masked = {"errors": [{"message": "Unexpected error", "extensions": {"code": INTERNAL}}], "data": None}
    leaked = {
        "errors": [
            {
                "message": "neo4j.exceptions.CypherSyntaxError: MATCH (n",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ]
    }
    uncoded = {"errors": [{"message": "boom"}], "data": None}
    assert judge(200, json.dumps(masked))[1]
    assert judge(200, json.dumps(leaked))[1]
    assert judge(200, json.dumps(uncoded))[1]
    assert judge(500, "Internal Server Error")[1]
    assert judge(200, json.dumps({"data": {"user": None}})) == ((), [])


# Times at the ends of what Python's datetime holds, with the largest offsets: converting them to UTC
# (or to a reporting zone) leaves years 1-9999. Hypothesis draws such values rarely; here every DateTime
# argument and input field gets each of them.
EXTREME_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00",
    "0001-01-01T23:59:59+23:59",
    "9999-12-31T23:59:59.999999",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T00:00:00-23:59",
]
TIME_SLOTS: dict[str, tuple[str, Any]] = {
    "Mutation.tagUser(expiresAt)": (
        "mutation($u: ID!, $t: ID!, $x: DateTime) { "
        "tagUser(userId: $u, tagId: $t, expiresAt: $x) { created } }",
        lambda p, x: {"u": p["users"][0], "t": p["tags"][0], "x": x},
    ),
    "Mutation.setConsent(at)": (
        "mutation($u: ID!, $x: DateTime) { setConsent(userId: $u, purpose: MARKETING, granted: true, "
        'source: "fuzz", at: $x) { granted } }',
        lambda p, x: {"u": p["users"][0], "x": x},
    ),
    "EventInput.at": (
        "mutation($e: EventInput!) { recordEvent(input: $e) { eventKey } }",
        lambda p, x: {"e": {"userId": p["users"][0], "kind": "VIEW", "at": x, "target": p["skus"][0]}},
    ),
    "OrderInput.orderedAt": (
        "mutation($o: OrderInput!) { recordOrder(input: $o) { orderId } }",
        lambda p, x: {
            "o": {
                "orderId": f"fuzz-time-{x}",
                "userId": p["users"][0],
                "orderedAt": x,
                "lines": [{"sku": p["skus"][0]}],
            }
        },
    ),
    "UserInput.acquiredAt": (
        "mutation($i: UserInput!) { upsertUser(input: $i) { id } }",
        lambda p, x: {"i": {"id": p["users"][0], "acquiredVia": p["channels"][0], "acquiredAt": x}},
    ),
    "BehaviorConditionInput.from": (
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } } }",
        lambda p, x: {"d": {"behavior": {"action": "viewed", "sku": p["skus"][0], "from": x}}},
    ),
    "BehaviorConditionInput.to": (
        "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value } } }",
        lambda p, x: {"d": {"behavior": {"action": "bought", "category": "x", "to": x}}},
    ),
}


def test_every_datetime_argument_is_covered() -> None:
    found: set[str] = set()
    for name, type_ in SCHEMA.type_map.items():
        if isinstance(type_, graphql.GraphQLObjectType) and not name.startswith("__"):
            found |= {
                f"{name}.{f}({a})"
                for f, field_def in type_.fields.items()
                for a, arg in field_def.args.items()
                if get_named_type(arg.type).name == "DateTime"
            }
        elif isinstance(type_, GraphQLInputObjectType):
            found |= {
                f"{name}.{f}" for f, d in type_.fields.items() if get_named_type(d.type).name == "DateTime"
            }
    assert set(TIME_SLOTS) == found


@pytest.mark.parametrize(
    "slot",
    list(TIME_SLOTS),
)
def test_extreme_times_in_every_datetime_argument(
    slot: str, client: TestClient, keys: Secured, pools: Pools
) -> None:
    operation, variables = TIME_SLOTS[slot]
    problems = []
    for moment in EXTREME_TIMES:
        response = client.post(
            "/graphql",
            json={"query": operation, "variables": variables(pools.values, moment)},
            headers=keys.headers(),
        )
        problems += [f"{moment}: {p}" for p in judge(response.status_code, response.text)[1]]
    assert not problems, "\n".join(problems)


SHARED_READ = """
query($u: ID!) {
  user(id: $u) { community { kind } persona { name } orders(first: 2, after: "not-a-cursor") { totalCount } }
  users(ids: [$u]) { community { kind } persona { name } }
}
"""


def test_a_failing_field_does_not_cancel_a_read_another_field_shares(
    graph: AnalysedGraph, client: TestClient, keys: Secured
) -> None:
    records, _, _ = graph.store.driver.execute_query(
        "MATCH (u:User) WHERE u.socialCommunity IS NOT NULL AND u.persona IS NOT NULL "
        "RETURN u.userId AS id ORDER BY id LIMIT 1",
        database_=graph.store.database,
    )
    variables = {"u": records[0]["id"]}
    for _ in range(10):  # the cancellation races the shared read; it loses nearly every time
        response = client.post(
            "/graphql", json={"query": SHARED_READ, "variables": variables}, headers=keys.headers()
        )
        assert not judge(response.status_code, response.text)[1], response.text[:500]

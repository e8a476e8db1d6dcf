"""Cypher-injection strings in every String/ID argument and input field of the API, and in every
string of an audience definition: the graph must not change beyond what the operation is meant to write.

``SLOTS`` and ``DEFINITION_SLOTS`` hold one operation (or a few) per place a string can enter; a test
compares their keys with the live schema's String/ID/JSON arguments and input fields, so a new
argument fails that test until it is covered here. Each slot gets every payload, one request each:

- queries: the graph (every node and relationship, with its properties) is the same after the batch;
- mutations: no node is removed, and every node or relationship added, changed or removed is the
  entity the mutation writes (the known user it names, a node it creates, a saved audience) or touches
  one; where a mutation stores the payload (a city, a saved audience's name, an event id), the stored
  value is the payload as the record model normalises it (trimmed; gender lower-cased);
- any error is a coded validation error (BAD_USER_INPUT, NOT_FOUND, GRAPHQL_VALIDATION_FAILED,
  FORBIDDEN) whose message shows no trace, driver class or Cypher beyond the payload it echoes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from graphql import GraphQLInputObjectType, GraphQLObjectType, get_named_type

from personagraph.api.schema import schema as api_schema
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from tests.api_support import AnalysedGraph, Secured
from tests.test_fuzz_api import TRACE_MARKERS
from tests.test_subscriptions import sse_event

PAYLOADS: list[str] = [
    "'",
    '"',
    "\\'",
    "}",
    "{",
    "//",
    "/*",
    "*/",
    "x'}) MATCH (n) DETACH DELETE n //",
    'x"}) MATCH (n) DETACH DELETE n //',
    "x'})-[r]-() DELETE r WITH 1 AS x MATCH (n) DETACH DELETE n //",
    '" OR 1=1 //',
    "' OR '1'='1",
    "`",
    "`Label`",
    "x` DETACH DELETE n //",
    "\\u0027",
    "\u0027) RETURN 1 //",
    "\u0000",
    "a\u0000b",
    "$param",
    "${x}",
    "{x}",
    "\\",
    "');CALL db.clearQueryCaches()//",
    "'; CALL apoc.periodic.iterate('MATCH (n) RETURN n', 'DETACH DELETE n', {}) //",
    "MATCH (n) DETACH DELETE n",
    " padded ",
    "\n",
    "line\nbreak\r\n",
    "\u202eevil\u202c",
    "שלום עולם",
    "🙂👩‍👩‍👧🏳️‍🌈",
    "\ud800",  # a lone surrogate: valid JSON (escaped), not encodable as UTF-8
    "A" * 10_000,
]
EXPECTED_CODES = frozenset({"BAD_USER_INPUT", "NOT_FOUND", "GRAPHQL_VALIDATION_FAILED", "FORBIDDEN"})


# --- what the tests know of the graph -------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """Ids that exist, so each operation fails (or writes) only because of the payload."""

    user: str
    sku: str
    tag: str
    channel: str

    def definition(self) -> dict[str, Any]:
        return {"tag": {"tagId": self.tag}}


def _trimmed(payload: str) -> str:
    return payload.strip()


def _search_term(payload: str) -> str:
    return " ".join(payload.lower().split())


# --- one operation per place a string enters -------------------------------------------------------

Variables = Callable[[Known, str], dict[str, Any]]


@dataclass(frozen=True)
class Stored:
    """How a successful write stores the payload, and a read that counts where it is stored
    (parameters: ``$user`` the known user, ``$field`` the input field, ``$v`` the stored value)."""

    normalise: Callable[[str], str]
    read_back: str


@dataclass(frozen=True)
class Variant:
    """One operation with the payload in one place."""

    operation: str
    variables: Variables
    stored: Stored | None = None  # None: a look-up, nothing of the payload is stored


USER_PROPERTY = Stored(
    _trimmed, "MATCH (u:User {userId: $user}) WHERE properties(u)[$field] = $v RETURN count(*) AS n"
)
GENDER = Stored(lambda p: p.strip().lower(), USER_PROPERTY.read_back)
NEW_USER = Stored(_trimmed, "MATCH (u:User {userId: $v}) RETURN count(*) AS n")
EVENT_ID = Stored(
    _trimmed, "MATCH (:User {userId: $user})-[r:VIEWED]->() WHERE $v IN r.eventKeys RETURN count(*) AS n"
)
SEARCH_TERM = Stored(
    _search_term, "MATCH (:User {userId: $user})-[:SEARCHED]->(:SearchTerm {term: $v}) RETURN count(*) AS n"
)
ORDER_ID = Stored(
    _trimmed, "MATCH (:User {userId: $user})-[:PLACED]->(:Order {orderId: $v}) RETURN count(*) AS n"
)
CONSENT_SOURCE = Stored(
    _trimmed,
    "MATCH (:User {userId: $user})-[:CONSENT_CHANGED]->(:ConsentChange {source: $v}) RETURN count(*) AS n",
)
AUDIENCE_ID = Stored(lambda p: p, "MATCH (a:Audience {audienceId: $v}) RETURN count(*) AS n")
AUDIENCE_TEXT = Stored(
    lambda p: p,
    "MATCH (a:Audience {audienceId: 'inj-audience'}) WHERE properties(a)[$field] = $v RETURN count(*) AS n",
)


def _user_input(name: str) -> Variables:
    return lambda k, p: {"input": {"id": k.user, name: p}}


def _event(**fields: Any) -> Variables:
    def variables(k: Known, p: str) -> dict[str, Any]:
        event = {"userId": k.user, "kind": "VIEW", "at": "2025-05-01T12:00:00Z", "target": k.sku}
        return {
            "input": {**event, **{name: (p if value is None else value) for name, value in fields.items()}}
        }

    return variables


def _order(order_id: str | None = "inj-order", **fields: Any) -> Variables:
    def variables(k: Known, p: str) -> dict[str, Any]:
        order = {
            "orderId": p if order_id is None else order_id,
            "userId": k.user,
            "orderedAt": "2025-05-01T12:00:00Z",
            "lines": [{"sku": k.sku, "quantity": 1}],
        }
        return {
            "input": {**order, **{name: (p if value is None else value) for name, value in fields.items()}}
        }

    return variables


AUDIENCE_ARGS = "audience(definition: $d, purpose: ANALYSIS)"
UPSERT = "mutation($input: UserInput!) { upsertUser(input: $input) { id } }"
RECORD_EVENT = "mutation($input: EventInput!) { recordEvent(input: $input) { eventKey new } }"
RECORD_ORDER = "mutation($input: OrderInput!) { recordOrder(input: $input) { orderId lines } }"
SAVE = (
    "mutation($id: ID!, $name: String!, $owner: String!, $d: AudienceInput!) { "
    "saveAudience(id: $id, name: $name, owner: $owner, definition: $d, purpose: ANALYSIS) { id name owner } }"
)


def _save(**fields: str | None) -> Variables:
    def variables(k: Known, p: str) -> dict[str, Any]:
        given = {"id": "inj-audience", "name": "Injection", "owner": "tests", **fields}
        return {
            **{name: (p if value is None else value) for name, value in given.items()},
            "d": k.definition(),
        }

    return variables


REGISTER_WEBHOOK = (
    "mutation($url: String!, $a: [ID!], $t: [ID!]) { registerWebhook(url: $url, events: [TAG_ADDED], "
    "audienceIds: $a, tagIds: $t) { webhook { id } } }"
)
# A filter id stored on the webhook (stripped), read back by the field the test names.
WEBHOOK_IDS = Stored(
    _trimmed,
    "MATCH (w:Webhook) WHERE $v IN CASE $field WHEN 'audienceIds' THEN w.audienceIds ELSE w.tagIds END "
    "RETURN count(*) AS n",
)


def _webhook(**fields: None) -> Variables:
    """registerWebhook's variables with the payload in the one field given (a list for the filters)."""

    def variables(k: Known, p: str) -> dict[str, Any]:
        given: dict[str, Any] = {"url": "http://127.0.0.1:9/injection", "a": None, "t": None}
        for name in fields:
            given[{"url": "url", "audienceIds": "a", "tagIds": "t"}[name]] = p if name == "url" else [p]
        return given

    return variables


SLOTS: dict[str, list[Variant]] = {
    # Queries.
    "Query.user(id)": [Variant("query($v: ID!) { user(id: $v) { id city } }", lambda k, p: {"v": p})],
    "Query.users(ids)": [
        Variant("query($v: [ID!]!) { users(ids: $v) { id } }", lambda k, p: {"v": [p, k.user]})
    ],
    "Query.savedAudience(id)": [
        Variant("query($v: ID!) { savedAudience(id: $v) { id name } }", lambda k, p: {"v": p})
    ],
    "Query.product(sku)": [
        Variant(
            "query($v: ID!) { product(sku: $v) { sku boughtWith(first: 3) { lift } } }", lambda k, p: {"v": p}
        )
    ],
    "Query.crossSell(sku)": [
        Variant("query($v: ID) { crossSell(sku: $v) { personalised items { sku } } }", lambda k, p: {"v": p})
    ],
    "Query.crossSell(userId)": [
        Variant(
            "query($v: ID) { crossSell(userId: $v) { personalised items { sku } } }", lambda k, p: {"v": p}
        )
    ],
    "Query.influencers(communityId)": [
        Variant("query($v: ID) { influencers(first: 5, communityId: $v) { id } }", lambda k, p: {"v": p})
    ],
    "Query.auditLog(action)": [
        Variant("query($v: String) { auditLog(first: 5, action: $v) { action } }", lambda k, p: {"v": p})
    ],
    "Query.analyticsRuns(kind)": [
        Variant("query($v: String) { analyticsRuns(first: 5, kind: $v) { runId } }", lambda k, p: {"v": p})
    ],
    "User.orders(after)": [
        Variant(
            "query($u: ID!, $v: String) { user(id: $u) { orders(first: 2, after: $v) { totalCount } } }",
            lambda k, p: {"u": k.user, "v": p},
        )
    ],
    "User.friends(after)": [
        Variant(
            "query($u: ID!, $v: String) { user(id: $u) { friends(first: 2, after: $v) { totalCount } } }",
            lambda k, p: {"u": k.user, "v": p},
        )
    ],
    "User.followers(after)": [
        Variant(
            "query($u: ID!, $v: String) { user(id: $u) { followers(first: 2, after: $v) { totalCount } } }",
            lambda k, p: {"u": k.user, "v": p},
        )
    ],
    "User.following(after)": [
        Variant(
            "query($u: ID!, $v: String) { user(id: $u) { following(first: 2, after: $v) { totalCount } } }",
            lambda k, p: {"u": k.user, "v": p},
        )
    ],
    "Audience.members(after)": [
        Variant(
            f"query($d: AudienceInput!, $v: String) {{ {AUDIENCE_ARGS} {{ members(first: 2, after: $v) "
            "{ edges { node { id } } } } }",
            lambda k, p: {"d": k.definition(), "v": p},
        )
    ],
    "Audience.breakdown(by)": [
        Variant(
            f"query($d: AudienceInput!, $v: String!) {{ {AUDIENCE_ARGS} "
            "{ breakdown(by: $v) { value } } }",
            lambda k, p: {"d": k.definition(), "v": p},
        )
    ],
    # Mutations. Forgetting first: no user named by a payload exists yet (see UserInput.id).
    "Mutation.forgetUser(userId)": [
        Variant("mutation($v: ID!) { forgetUser(userId: $v) { subject } }", lambda k, p: {"v": p})
    ],
    "UserInput.gender": [Variant(UPSERT, _user_input("gender"), GENDER)],
    **{
        f"UserInput.{name}": [Variant(UPSERT, _user_input(name), USER_PROPERTY)]
        for name in ("occupation", "education", "incomeBand", "city", "region", "country")
    },
    "UserInput.acquiredVia": [Variant(UPSERT, _user_input("acquiredVia"))],
    "EventInput.userId": [Variant(RECORD_EVENT, _event(userId=None))],
    "EventInput.target": [
        Variant(RECORD_EVENT, _event(target=None)),
        Variant(RECORD_EVENT, _event(kind="SEARCH", target=None), SEARCH_TERM),
    ],
    "EventInput.eventId": [Variant(RECORD_EVENT, _event(eventId=None), EVENT_ID)],
    "EventInput.channelId": [Variant(RECORD_EVENT, _event(channelId=None))],
    "OrderInput.orderId": [Variant(RECORD_ORDER, _order(order_id=None), ORDER_ID)],
    "OrderInput.userId": [Variant(RECORD_ORDER, _order(userId=None))],
    "OrderInput.channelId": [Variant(RECORD_ORDER, _order(channelId=None))],
    "OrderLineInput.sku": [
        Variant(
            RECORD_ORDER,
            lambda k, p: {**_order()(k, p), "input": {**_order()(k, p)["input"], "lines": [{"sku": p}]}},
        )
    ],
    "Mutation.tagUser(userId)": [
        Variant(
            "mutation($v: ID!, $t: ID!) { tagUser(userId: $v, tagId: $t) { created } }",
            lambda k, p: {"v": p, "t": k.tag},
        )
    ],
    "Mutation.tagUser(tagId)": [
        Variant(
            "mutation($u: ID!, $v: ID!) { tagUser(userId: $u, tagId: $v) { created } }",
            lambda k, p: {"u": k.user, "v": p},
        )
    ],
    "Mutation.untagUser(userId)": [
        Variant(
            "mutation($v: ID!, $t: ID!) { untagUser(userId: $v, tagId: $t) { removedSources } }",
            lambda k, p: {"v": p, "t": k.tag},
        )
    ],
    "Mutation.untagUser(tagId)": [
        Variant(
            "mutation($u: ID!, $v: ID!) { untagUser(userId: $u, tagId: $v) { removedSources } }",
            lambda k, p: {"u": k.user, "v": p},
        )
    ],
    "Mutation.setConsent(userId)": [
        Variant(
            'mutation($v: ID!) { setConsent(userId: $v, purpose: MARKETING, granted: true, source: "tests") '
            "{ granted } }",
            lambda k, p: {"v": p},
        )
    ],
    "Mutation.setConsent(source)": [
        Variant(
            "mutation($u: ID!, $v: String!) { setConsent(userId: $u, purpose: MARKETING, granted: true, "
            "source: $v) { granted } }",
            lambda k, p: {"u": k.user, "v": p},
            CONSENT_SOURCE,
        )
    ],
    "Mutation.saveAudience(id)": [Variant(SAVE, _save(id=None), AUDIENCE_ID)],
    "Mutation.saveAudience(name)": [Variant(SAVE, _save(name=None), AUDIENCE_TEXT)],
    "Mutation.saveAudience(owner)": [Variant(SAVE, _save(owner=None), AUDIENCE_TEXT)],
    # Pushes name a saved audience: no audience has a payload for its id, so nothing is pushed or written.
    "Mutation.pushAudience(audienceId)": [
        Variant(
            "mutation($v: ID!) { pushAudience(audienceId: $v, platform: GOOGLE) { id keys } }",
            lambda k, p: {"v": p},
        )
    ],
    # Webhooks (admin only): ids are looked up; filters are stored on the webhook, URLs refused unless URLs.
    "Query.webhookDeliveries(webhookId)": [
        Variant("query($v: ID) { webhookDeliveries(webhookId: $v) { id } }", lambda k, p: {"v": p})
    ],
    "Mutation.removeWebhook(id)": [
        Variant("mutation($v: ID!) { removeWebhook(id: $v) }", lambda k, p: {"v": p})
    ],
    "Mutation.retryWebhookDelivery(id)": [
        Variant("mutation($v: ID!) { retryWebhookDelivery(id: $v) { id } }", lambda k, p: {"v": p})
    ],
    "Mutation.registerWebhook(url)": [Variant(REGISTER_WEBHOOK, _webhook(url=None))],
    "Mutation.registerWebhook(audienceIds)": [
        Variant(REGISTER_WEBHOOK, _webhook(audienceIds=None), WEBHOOK_IDS)
    ],
    "Mutation.registerWebhook(tagIds)": [Variant(REGISTER_WEBHOOK, _webhook(tagIds=None), WEBHOOK_IDS)],
    # Last: it creates users whose ids are the payloads, which the look-ups above must not find.
    "UserInput.id": [Variant(UPSERT, lambda k, p: {"input": {"id": p, "city": "Injection"}}, NEW_USER)],
}

# Subscriptions, over SSE (POST /graphql/stream): no user, saved audience or cursor has a payload for its
# id, so each stream must end at once with a coded error, the graph unchanged. The `after` slots name a
# real user, or the audience test_payloads_in_subscription_arguments_change_nothing saves first.
SUBSCRIBED_AUDIENCE = "inj-subscribed"
SUBSCRIPTION_SLOTS: dict[str, Variant] = {
    "Subscription.userTagsChanged(userId)": Variant(
        "subscription($v: ID!) { userTagsChanged(userId: $v) { cursor } }", lambda k, p: {"v": p}
    ),
    "Subscription.userTagsChanged(after)": Variant(
        "subscription($u: ID!, $v: String) { userTagsChanged(userId: $u, after: $v) { cursor } }",
        lambda k, p: {"u": k.user, "v": p},
    ),
    "Subscription.profileChanged(userId)": Variant(
        "subscription($v: ID!) { profileChanged(userId: $v) { cursor } }", lambda k, p: {"v": p}
    ),
    "Subscription.profileChanged(after)": Variant(
        "subscription($u: ID!, $v: String) { profileChanged(userId: $u, after: $v) { cursor } }",
        lambda k, p: {"u": k.user, "v": p},
    ),
    "Subscription.audienceMembershipChanged(audienceId)": Variant(
        "subscription($v: ID!) { audienceMembershipChanged(audienceId: $v) { cursor } }",
        lambda k, p: {"v": p},
    ),
    "Subscription.audienceMembershipChanged(after)": Variant(
        "subscription($a: ID!, $v: String) {\n"
        "  audienceMembershipChanged(audienceId: $a, after: $v) { cursor }\n}",
        lambda k, p: {"a": SUBSCRIBED_AUDIENCE, "v": p},
    ),
}

# Every string inside an audience definition: the payload in one place, the rest valid.
DEFINITION_SLOTS: dict[str, Callable[[Known, str], dict[str, Any]]] = {
    "TagConditionInput.tagId": lambda k, p: {"tag": {"tagId": p}},
    "AcquiredViaConditionInput.channelId": lambda k, p: {"acquiredVia": {"channelId": p}},
    "AttributeConditionInput.field": lambda k, p: {"attribute": {"field": p, "op": "eq", "value": "x"}},
    "AttributeConditionInput.op": lambda k, p: {"attribute": {"field": "city", "op": p, "value": "x"}},
    "AttributeConditionInput.value": lambda k, p: {
        "or": [
            {"attribute": {"field": "city", "op": "eq", "value": p}},
            {"attribute": {"field": "occupation", "op": "in", "value": [p, "x"]}},
            {"not": {"attribute": {"field": "rfmScore", "op": "ne", "value": p}}},
        ]
    },
    "BehaviorConditionInput.action": lambda k, p: {"behavior": {"action": p, "sku": k.sku}},
    "BehaviorConditionInput.sku": lambda k, p: {"behavior": {"action": "bought", "sku": p, "minCount": 2}},
    "BehaviorConditionInput.brand": lambda k, p: {
        "behavior": {"action": "viewed", "brand": p, "lastDays": 30}
    },
    "BehaviorConditionInput.category": lambda k, p: {
        "and": [{"tag": {"tagId": k.tag}}, {"behavior": {"action": "clicked", "category": p}}]
    },
    "InConditionInput.in": lambda k, p: {
        "or": [{"lifecycle": {"in": [p]}}, {"persona": {"in": [p, "x"]}}, {"community": {"in": [p]}}]
    },
    "ReferralConditionInput.userId": lambda k, p: {"referralHops": {"userId": p, "maxHops": 2}},
    "PredictionConditionInput.field": lambda k, p: {"prediction": {"field": p, "op": "gte", "value": 0.7}},
    "PredictionConditionInput.op": lambda k, p: {
        "prediction": {"field": "churnProbability", "op": p, "value": 0.7}
    },
    "PredictionConditionInput.value": lambda k, p: {
        "or": [
            {"prediction": {"field": "churnProbability", "op": "gte", "value": p}},
            {"prediction": {"field": "expectedSpend", "op": "between", "value": [p, 10]}},
        ]
    },
    "SurveyAnswerConditionInput.surveyId": lambda k, p: {
        "surveyAnswer": {"surveyId": p, "questionId": "recommend", "min": 9}
    },
    "SurveyAnswerConditionInput.questionId": lambda k, p: {
        "surveyAnswer": {"surveyId": "pulse", "questionId": p, "max": 6, "lastDays": 30}
    },
    "SurveyAnswerConditionInput.anyOf": lambda k, p: {
        "surveyAnswer": {"surveyId": "pulse", "questionId": "values", "anyOf": [p, "x"]}
    },
}
# The same payload reaching the compiler through the nesting forms it plans differently.
NESTINGS: dict[str, Callable[[dict[str, Any], Known], dict[str, Any]]] = {
    "alone": lambda d, k: d,
    "friends of": lambda d, k: {"friends": {"who": d, "atLeast": 2}},
    "not, and": lambda d, k: {
        "and": [{"attribute": {"field": "city", "op": "exists", "value": True}}, {"not": d}]
    },
    "referrals of": lambda d, k: {"referralHops": {"of": d, "maxHops": 1}},
}
DEFINITION_QUERY = (
    "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { "
    'count { value } members(first: 3) { edges { node { id } } } breakdown(by: "city") { value } } }'
)


# --- the graph before and after ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every node and relationship by element id, with labels/type, endpoints and properties."""

    nodes: dict[str, tuple[tuple[str, ...], str]]
    relationships: dict[str, tuple[str, str, str, str]]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for labels, _ in self.nodes.values():
            for label in labels:
                found[f":{label}"] = found.get(f":{label}", 0) + 1
        for rel_type, _, _, _ in self.relationships.values():
            found[f"[:{rel_type}]"] = found.get(f"[:{rel_type}]", 0) + 1
        return found


def _props(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def snapshot(store: GraphStore) -> Snapshot:
    nodes, _, _ = store.driver.execute_query(
        "MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props",
        database_=store.database,
    )
    rels, _, _ = store.driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN elementId(r) AS id, type(r) AS type, elementId(a) AS a, "
        "elementId(b) AS b, properties(r) AS props",
        database_=store.database,
    )
    return Snapshot(
        {r["id"]: (tuple(sorted(r["labels"])), _props(r["props"])) for r in nodes},
        {r["id"]: (r["type"], r["a"], r["b"], _props(r["props"])) for r in rels},
    )


@dataclass(frozen=True)
class Change:
    removed_nodes: set[str]
    added_nodes: set[str]
    changed_nodes: set[str]
    relationships: set[str]  # added, removed or changed
    endpoints: dict[str, tuple[str, str]]

    def outside(self, allowed: set[str]) -> list[str]:
        """What changed that is neither an allowed node nor a relationship touching one."""
        reach = allowed | self.added_nodes
        wrong = [f"node {n} removed" for n in sorted(self.removed_nodes)]
        wrong += [f"node {n} changed" for n in sorted(self.changed_nodes - reach)]
        wrong += [
            f"relationship {r} {self.endpoints[r]} added/removed/changed"
            for r in sorted(self.relationships)
            if not set(self.endpoints[r]) & reach
        ]
        return wrong


def diff(before: Snapshot, after: Snapshot) -> Change:
    b_nodes, a_nodes = before.nodes, after.nodes
    changed_nodes = {n for n in b_nodes.keys() & a_nodes.keys() if b_nodes[n] != a_nodes[n]}
    added_nodes = a_nodes.keys() - b_nodes.keys()
    rels = {
        r
        for r in before.relationships.keys() | after.relationships.keys()
        if before.relationships.get(r) != after.relationships.get(r)
    }
    endpoints = {
        r: (v[1], v[2]) for r, v in {**before.relationships, **after.relationships}.items() if r in rels
    }
    return Change(set(b_nodes.keys() - a_nodes.keys()), set(added_nodes), changed_nodes, rels, endpoints)


# --- answers -----------------------------------------------------------------------------------------


def _scrub(text: str, payload: str) -> str:
    """``text`` without the payload in any form an error message may echo it in."""
    for form in sorted(
        {payload, payload.strip(), repr(payload), repr(payload.strip()), json.dumps(payload)[1:-1]},
        key=len,
        reverse=True,
    ):
        if form:
            text = text.replace(form, "<payload>")
    return text


def post(client: TestClient, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    """JSON encoded here with ASCII escapes, so a lone surrogate travels as ``\\ud800`` (valid JSON)."""
    response = client.post(
        "/graphql",
        content=json.dumps({"query": operation, "variables": variables}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text[:2000]
    body: dict[str, Any] = response.json()
    return body


def subscribe(client: TestClient, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
    """One subscription over SSE that must end by itself: its first message (the error expected)."""
    response = client.post(
        "/graphql/stream",
        content=json.dumps({"query": operation, "variables": variables}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text[:2000]
    lines = iter(response.text.splitlines())
    first, second = sse_event(lines), sse_event(lines)
    rest = [line for line in lines if line and not line.startswith(":")]  # nothing after complete
    assert (first[0], second[0], rest) == ("next", "complete", []), repr(response.text[:2000])
    body: dict[str, Any] = json.loads(first[1])
    assert body.get("errors"), f"the subscription was accepted: {body}"
    return body


def check_errors(body: dict[str, Any], payload: str) -> list[str]:
    """Problems with the errors of an answer: a code other than a validation one, or trace text."""
    problems = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in EXPECTED_CODES:
            problems.append(f"code {code}: {error.get('message', '')[:300]}")
        shown = _scrub(str(error.get("message", "")), payload) + " ".join(
            _scrub(str(p), payload) for p in (error.get("extensions") or {}).get("problems", [])
        )
        problems += [f"error shows {m!r}: {shown[:300]}" for m in TRACE_MARKERS if m in shown]
    return problems


# --- fixtures ------------------------------------------------------------------------------------------


ANALYSED_USERS = 100  # the users of this module's graph (tests/conftest.py's graph fixture)
API_SETTINGS = {"webhooks_in_api": False}  # webhooks registered here are not sent to (no deliveries)


@pytest.fixture(scope="module")
def client(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[TestClient]:
    with keys.client(neo4j_connection, "admin", crash_as_500=True) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def known(graph: AnalysedGraph) -> Known:
    def first(query: str) -> str:
        records, _, _ = graph.store.driver.execute_query(query, database_=graph.store.database)
        return str(records[0]["v"])

    return Known(
        user=first(
            "MATCH (u:User) WHERE COUNT { (u)-[:PLACED]->() } > 0 AND COUNT { (u)-[:HAS_TAG]->() } > 0 "
            "RETURN u.userId AS v ORDER BY v LIMIT 1"
        ),
        sku=first("MATCH (p:Product) RETURN p.sku AS v ORDER BY v LIMIT 1"),
        tag=first("MATCH (:User)-[:HAS_TAG]->(t:Tag) RETURN t.tagId AS v ORDER BY v LIMIT 1"),
        channel=first("MATCH (c:Channel) RETURN c.channelId AS v ORDER BY v LIMIT 1"),
    )


def _node_of(store: GraphStore, label_key: str, value: str) -> set[str]:
    """The element id of the known node (as a set, empty if gone), for the allowed changes."""
    queries = {
        "user": "MATCH (n:User {userId: $v}) RETURN elementId(n) AS id",
        "audiences": "MATCH (n:Audience) RETURN elementId(n) AS id",
        # What every recorded event moves (docs/realtime.md): the change log's sequence, the fold cursor.
        "bookkeeping": "MATCH (n) WHERE n:ChangeSequence OR n:FoldCursor RETURN elementId(n) AS id",
        "webhooks": "MATCH (n:Webhook) RETURN elementId(n) AS id",
    }
    records, _, _ = store.driver.execute_query(queries[label_key], v=value, database_=store.database)
    return {r["id"] for r in records}


# --- tests -------------------------------------------------------------------------------------------


def schema_string_slots() -> set[str]:
    """Every argument and input field of the live schema that takes a String, an ID or JSON."""
    slots: set[str] = set()
    for name, type_ in api_schema._schema.type_map.items():
        if name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                slots |= {
                    f"{name}.{field_name}({arg})"
                    for arg, definition in field.args.items()
                    if get_named_type(definition.type).name in ("String", "ID", "JSON")
                }
        elif isinstance(type_, GraphQLInputObjectType):
            slots |= {
                f"{name}.{field_name}"
                for field_name, field in type_.fields.items()
                if get_named_type(field.type).name in ("String", "ID", "JSON")
            }
    return slots


def test_every_string_argument_and_input_field_is_covered() -> None:
    covered = set(SLOTS) | set(DEFINITION_SLOTS) | set(SUBSCRIPTION_SLOTS)
    assert covered == schema_string_slots(), (
        f"not covered: {sorted(schema_string_slots() - covered)}; "
        f"no longer in the schema: {sorted(covered - schema_string_slots())}"
    )


def _run_batch(
    client: TestClient,
    store: GraphStore,
    known: Known,
    operations: list[tuple[str, dict[str, Any], str]],
    *,
    allowed: Callable[[], set[str]] | None,
    stored: Stored | None = None,
    field: str = "",
    send: Callable[[TestClient, str, dict[str, Any]], dict[str, Any]] = post,
) -> None:
    """Send (operation, variables, payload) triples; ``allowed`` None means a read (nothing may change)."""
    before = snapshot(store)
    problems: list[str] = []
    written = 0
    for operation, variables, payload in operations:
        body = send(client, operation, variables)
        problems += [f"{payload[:40]!r}: {p}" for p in check_errors(body, payload)]
        value = stored.normalise(payload) if stored else ""
        if stored and value and not body.get("errors"):
            written += 1
            records, _, _ = store.driver.execute_query(
                stored.read_back, user=known.user, field=field, v=value, database_=store.database
            )
            if not records[0]["n"]:
                problems.append(f"{payload[:40]!r}: written, but not stored as {value[:40]!r}")
    if stored:  # the read-back check must have run: most payloads are fine text to store
        assert written >= len(operations) // 2, f"only {written} of {len(operations)} payloads were written"
    after = snapshot(store)
    if allowed is None:
        assert after.counts() == before.counts(), problems
        assert after == before, (problems, diff(before, after).outside(set()))
    else:
        problems += diff(before, after).outside(allowed())
    assert not problems, "\n".join(problems)


READS = [coordinate for coordinate, variants in SLOTS.items() if variants[0].operation.startswith("query")]
WRITES = [coordinate for coordinate in SLOTS if coordinate not in READS]


@pytest.mark.parametrize("coordinate", READS)
def test_payloads_in_query_arguments_change_nothing(
    coordinate: str, client: TestClient, graph: AnalysedGraph, known: Known
) -> None:
    operations = [(v.operation, v.variables(known, p), p) for v in SLOTS[coordinate] for p in PAYLOADS]
    _run_batch(client, graph.store, known, operations, allowed=None)


@pytest.mark.parametrize("coordinate", list(SUBSCRIPTION_SLOTS))
def test_payloads_in_subscription_arguments_change_nothing(
    coordinate: str, client: TestClient, graph: AnalysedGraph, known: Known
) -> None:
    saved = post(
        client,
        SAVE,
        {"id": SUBSCRIBED_AUDIENCE, "name": "n", "owner": "o", "d": {"tag": {"tagId": known.tag}}},
    )
    assert not saved.get("errors"), saved
    variant = SUBSCRIPTION_SLOTS[coordinate]
    operations = [(variant.operation, variant.variables(known, p), p) for p in PAYLOADS]
    _run_batch(client, graph.store, known, operations, allowed=None, send=subscribe)


@pytest.mark.parametrize("coordinate", WRITES)
def test_payloads_in_mutation_arguments_write_only_their_entity(
    coordinate: str, client: TestClient, graph: AnalysedGraph, known: Known
) -> None:
    for variant in SLOTS[coordinate]:
        operations = [(variant.operation, variant.variables(known, p), p) for p in PAYLOADS]
        _run_batch(
            client,
            graph.store,
            known,
            operations,
            allowed=lambda: (
                _node_of(graph.store, "user", known.user)
                | _node_of(graph.store, "audiences", "")
                | _node_of(graph.store, "bookkeeping", "")
                | _node_of(graph.store, "webhooks", "")
            ),
            stored=variant.stored,
            field=coordinate.rpartition(".")[2].partition("(")[2].rstrip(")")
            or coordinate.rpartition(".")[2],
        )


@pytest.mark.parametrize("nesting", list(NESTINGS))
@pytest.mark.parametrize("coordinate", list(DEFINITION_SLOTS))
def test_payloads_in_audience_definitions_change_nothing(
    coordinate: str, nesting: str, client: TestClient, graph: AnalysedGraph, known: Known
) -> None:
    build, nest = DEFINITION_SLOTS[coordinate], NESTINGS[nesting]
    operations = [(DEFINITION_QUERY, {"d": nest(build(known, p), known)}, p) for p in PAYLOADS]
    _run_batch(client, graph.store, known, operations, allowed=None)


@pytest.mark.parametrize("coordinate", list(DEFINITION_SLOTS))
def test_payloads_in_saved_audience_definitions_write_only_the_audience(
    coordinate: str, client: TestClient, graph: AnalysedGraph, known: Known
) -> None:
    """saveAudience stores the definition (canonical JSON) and its members: only the Audience node and
    its IN_AUDIENCE edges may change."""
    build = DEFINITION_SLOTS[coordinate]
    operations = [
        (SAVE, {"id": f"inj-{coordinate}", "name": "n", "owner": "o", "d": build(known, p)}, p)
        for p in PAYLOADS
    ]
    _run_batch(client, graph.store, known, operations, allowed=lambda: _node_of(graph.store, "audiences", ""))


def test_the_change_check_sees_removals_and_changes_outside_the_entity() -> None:
    """The check the mutation tests rely on: a removed node, a changed node that is not the entity, and an
    edge between two other nodes are all reported; the entity's own changes and edges are not."""
    before = Snapshot(
        {"a": (("User",), "{}"), "b": (("User",), "{}"), "c": (("Tag",), "{}")},
        {"r1": ("HAS_TAG", "a", "c", "{}"), "r2": ("HAS_TAG", "b", "c", "{}")},
    )
    after = Snapshot(
        {"a": (("User",), '{"city": "x"}'), "b": (("User",), '{"city": "y"}'), "d": (("Order",), "{}")},
        {
            "r1": ("HAS_TAG", "a", "c", '{"w": 1}'),
            "r3": ("PLACED", "a", "d", "{}"),
            "r4": ("X", "b", "c", "{}"),
        },
    )
    wrong = diff(before, after).outside({"a"})
    assert wrong == [
        "node c removed",
        "node b changed",
        "relationship r2 ('b', 'c') added/removed/changed",
        "relationship r4 ('b', 'c') added/removed/changed",
    ], wrong


def test_injected_graph_still_has_its_data(graph: AnalysedGraph, known: Known) -> None:
    """After every payload (this runs last in the module): the known user, product and tag are there."""
    records, _, _ = graph.store.driver.execute_query(
        "MATCH (u:User {userId: $u}), (p:Product {sku: $s}), (t:Tag {tagId: $t}) RETURN count(*) AS n",
        u=known.user,
        s=known.sku,
        t=known.tag,
        database_=graph.store.database,
    )
    assert records[0]["n"] == 1

"""Issue 18, push: GraphQL subscriptions over the change log (api/change_feed.py, api/types/changes.py),
over graphql-transport-ws and SSE, against the real Neo4j.

First the feed itself (one poller per process, subscribers resuming after a cursor), then the API: resume
by cursor, live delivery, masking per role, consent, caps, credentials on both transports, the role
matrix, audit, and an end-to-end change made by recordEvent. Each attack is the request that would
break the rule, asserted not to. No timing assertions: waits poll with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from personagraph.api.app import create_app
from personagraph.api.auth import KeyFile
from personagraph.api.change_feed import CapReached, ChangeFeed, ChangeFilter, Stream, UserGone
from personagraph.api.policy import Role
from personagraph.graph.changes.log import Change, NewChange, changes_after, latest_cursor, record_changes
from personagraph.graph.privacy.forget import forget_user, suppression_key
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from tests.api_support import AnalysedGraph, Secured, as_role, bearer, one, rows
from tests.live_server import live

T = TypeVar("T")
DEADLINE_S = 30.0
SETTINGS = Settings(secret_key="subscriptions-test-secret-key-0123")


def users(store: GraphStore, *user_ids: str) -> None:
    """Bare users for the feed's tests (a subscription on a user ends when the user is gone)."""
    store.driver.execute_query(
        "UNWIND $ids AS id CREATE (:User {userId: id})", ids=list(user_ids), database_=store.database
    )


def tag(user: str, tag_id: str, change: str = "added") -> NewChange:
    return NewChange(user, "tag", tag_id, change, "manual")


async def collect(batches: AsyncIterator[list[Change]], done: Callable[[list[Change]], bool]) -> list[Change]:
    """Changes from ``batches`` until ``done`` says enough (or the deadline passes: the test then fails
    on what it got)."""
    got: list[Change] = []

    async def read() -> None:
        async for batch in batches:
            got.extend(batch)
            if done(got):
                return

    with suppress(TimeoutError):
        await asyncio.wait_for(read(), DEADLINE_S)
    return got


def run_feed(store: GraphStore, body: Callable[[ChangeFeed], Any], **options: Any) -> Any:
    """Run ``body(feed)`` with a started feed over ``store`` in a fresh event loop."""

    async def main() -> Any:
        feed = ChangeFeed(store, poll_s=0.01, **options)
        feed.start()
        try:
            return await body(feed)
        finally:
            await feed.stop()

    return asyncio.run(main())


# The feed ------------------------------------------------------------------------------------------


def test_backlog_then_live_without_gaps_or_duplicates_even_when_a_subscriber_falls_behind(
    store: GraphStore,
) -> None:
    """Changes recorded before, while the subscriber reads its backlog and while it is live, with a queue
    of 2 so the poller overflows it again and again: exactly the matching changes, in cursor order."""
    users(store, "u1", "u2")
    record_changes(store, [tag("u1", f"before{i}") for i in range(5)] + [tag("u2", "other")])

    def write() -> None:
        for i in range(40):
            record_changes(store, [tag("u1", f"live{i}"), tag("u2", f"live{i}"), tag("u1", f"more{i}")])

    async def body(feed: ChangeFeed) -> list[Change]:
        writer = threading.Thread(target=write)
        wanted = ChangeFilter(("tag",), user_ids=("u1",))
        batches = feed.batches(wanted, 0)
        writer.start()
        try:
            return await collect(batches, lambda got: len(got) >= 85)
        finally:
            await asyncio.to_thread(writer.join)

    got = run_feed(store, body, queue_size=2)
    expected = changes_after(store, 0, user_ids=["u1"], kinds=["tag"], limit=10_000)
    assert [c.seq for c in got] == [c.seq for c in expected] and len(expected) == 85


def test_resume_after_a_cursor_gives_exactly_what_came_after(store: GraphStore) -> None:
    users(store, "u1")
    first = record_changes(store, [tag("u1", f"t{i}") for i in range(3)])
    missed = record_changes(store, [tag("u1", f"m{i}") for i in range(4)])

    async def body(feed: ChangeFeed) -> list[Change]:
        return await collect(
            feed.batches(ChangeFilter(("tag",), user_ids=("u1",)), first[-1]), lambda g: len(g) >= 4
        )

    got = run_feed(store, body)
    assert [c.seq for c in got] == list(missed) and [c.subject for c in got] == [f"m{i}" for i in range(4)]


def test_a_subscription_on_a_forgotten_user_ends(store: GraphStore) -> None:
    users(store, "gone", "stays")
    record_changes(store, [tag("gone", "t1")])

    async def body(feed: ChangeFeed) -> None:
        batches = feed.batches(ChangeFilter(("tag",), user_ids=("gone",)), 0)
        assert [c.subject for c in await anext(batches)] == ["t1"]
        await asyncio.to_thread(
            forget_user, store, user_id="gone", key=suppression_key(SETTINGS), actor="test"
        )
        with pytest.raises(UserGone):
            await asyncio.wait_for(collect(batches, lambda got: False), DEADLINE_S)

    run_feed(store, body)
    assert changes_after(store, 0, user_ids=["gone"]) == []  # forget took their changes with them


def test_caps_per_connection_and_per_key_and_a_lease_is_released_even_unstarted() -> None:
    feed = ChangeFeed(store=None, per_connection=2, per_key=3)  # type: ignore[arg-type]  # no reads here
    one, other = object(), object()
    leases = [feed.lease(one, "key-a"), feed.lease(one, "key-a")]
    with pytest.raises(CapReached, match="on this connection"):
        feed.lease(one, "key-a")
    leases.append(feed.lease(other, "key-a"))
    with pytest.raises(CapReached, match="for this key"):
        feed.lease(other, "key-a")
    assert feed.lease(other, "key-b")  # another key has its own cap
    # A stream closed before it ever started still gives its lease back (an async generator's finally
    # would not run), and twice is once.
    released = leases.pop()

    async def never() -> AsyncIterator[int]:
        yield 1

    stream = Stream(never(), released.release)
    asyncio.run(stream.aclose())
    released.release()
    assert feed.lease(other, "key-a")
    assert feed.caps.keys["key-a"] == 3 and CapReached.code == "RATE_LIMITED"


# The API ---------------------------------------------------------------------------------------------

# This module's app (tests/conftest.py keys): a quick poller and small caps, so the caps test reaches them.
API_SETTINGS = {
    "subscriptions_poll_s": 0.02,
    "subscriptions_per_connection": 2,
    "subscriptions_per_key": 3,
}
PROTOCOL = "graphql-transport-ws"
FIELDS = "cursor userId subject change at cause causeIds ruleId"
TAGS = f"subscription($u: ID!, $a: String) {{ userTagsChanged(userId: $u, after: $a) {{ {FIELDS} }} }}"
PROFILE = f"subscription($u: ID!, $a: String) {{ profileChanged(userId: $u, after: $a) {{ {FIELDS} }} }}"
MEMBERSHIP = (
    "subscription($id: ID!, $a: String) "
    f"{{ audienceMembershipChanged(audienceId: $id, after: $a) {{ {FIELDS} }} }}"
)
SAVE = (
    "mutation($id: ID!, $d: AudienceInput!, $p: Purpose!) "
    '{ saveAudience(id: $id, name: "subscriptions", definition: $d, purpose: $p) { id } }'
)
EVERYONE_WITH_A_CITY = {"attribute": {"field": "city", "op": "exists"}}


class Socket:
    """A graphql-transport-ws client over the TestClient's websocket; every wait has a deadline."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self.session = session

    def receive(self, timeout: float = DEADLINE_S) -> dict[str, Any]:
        """The next message; WebSocketDisconnect (with the close code) when the server closed instead,
        TimeoutError when none comes within ``timeout``."""

        async def get() -> Any:
            with anyio.fail_after(timeout):
                return await self.session._send_rx.receive()

        message = self.session.portal.call(get)
        self.session._raise_on_close(message)
        found: dict[str, Any] = json.loads(message.get("text") or message["bytes"])
        return found

    def subscribe(self, op_id: str, query: str, **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        self.session.send_json({"id": op_id, "type": "subscribe", "payload": payload})

    def first(self, op_id: str, timeout: float = DEADLINE_S) -> dict[str, Any]:
        """The next message of one operation."""
        while True:
            message = self.receive(timeout)
            if message.get("id") == op_id:
                return message

    def messages(self, op_id: str, n: int) -> list[dict[str, Any]]:
        """The data of the next ``n`` messages of one operation (which must not end meanwhile)."""
        found = []
        while len(found) < n:
            message = self.first(op_id)
            assert message["type"] == "next" and not message["payload"].get("errors"), message
            found.append(next(iter(message["payload"]["data"].values())))
        return found

    def refusal(self, op_id: str) -> dict[str, Any]:
        """The first error of an operation refused (an ``error`` message, or a ``next`` carrying errors)."""
        message = self.first(op_id)
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
        assert errors, message
        assert "Traceback" not in str(message) and "neo4j." not in str(message), message
        error: dict[str, Any] = errors[0]
        return error

    def complete(self, op_id: str) -> None:
        self.session.send_json({"id": op_id, "type": "complete"})


@contextmanager
def connected(client: TestClient, token: str | None, *, in_header: bool = False) -> Iterator[Socket]:
    """A websocket to /graphql, initialised with ``token`` in the connection_init payload (or in the
    upgrade request's header), acknowledged."""
    headers = bearer(token) if in_header and token else {}
    with client.websocket_connect("/graphql", subprotocols=[PROTOCOL], headers=headers) as session:
        socket = Socket(session)
        payload = {"Authorization": f"Bearer {token}"} if token and not in_header else {}
        session.send_json({"type": "connection_init", "payload": payload})
        assert socket.receive()["type"] == "connection_ack"
        yield socket


def closed_with(
    client: TestClient,
    init: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
    protocol: str = PROTOCOL,
) -> int:
    """The close code the server answers a connection with (``init``: the connection_init message to send,
    None to send a subscribe at once)."""
    with client.websocket_connect("/graphql", subprotocols=[protocol], headers=headers or {}) as session:
        socket = Socket(session)
        session.send_json(init or {"id": "1", "type": "subscribe", "payload": {"query": TAGS}})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                socket.receive()
    return closed.value.code


def cursor(graph: AnalysedGraph) -> int:
    return latest_cursor(graph.store)


def user_ids(graph: AnalysedGraph, where: str = "true", n: int = 1) -> list[str]:
    found = rows(graph, f"MATCH (u:User) WHERE {where} RETURN u.userId AS id ORDER BY id LIMIT {n}")
    assert len(found) == n, where
    return [r["id"] for r in found]


def test_resume_by_cursor_misses_nothing_and_then_goes_live(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """Disconnect, changes meanwhile, reconnect with the last cursor: exactly the missed ones, in order,
    then live ones on the same subscription."""
    user = user_ids(graph)[0]
    start = cursor(graph)
    with connected(client, keys.tokens[Role.ADMIN]) as ws:
        ws.subscribe("a", TAGS, u=user, a=str(start))
        seen = record_changes(graph.store, [tag(user, "sub-1"), tag(user, "sub-2", "removed")])
        first = ws.messages("a", 2)
    assert [m["cursor"] for m in first] == [str(c) for c in seen]
    assert first[1] | {"at": None} == {
        "cursor": str(seen[1]),
        "userId": user,
        "subject": "sub-2",
        "change": "REMOVED",
        "at": None,
        "cause": "manual",
        "causeIds": [],
        "ruleId": None,
    }
    others = [tag(user, f"missed-{i}") for i in range(3)] + [tag("someone-else", "x")]
    missed = record_changes(graph.store, others)
    with connected(client, keys.tokens[Role.ADMIN]) as ws:
        ws.subscribe("b", TAGS, u=user, a=first[-1]["cursor"])
        again = ws.messages("b", 3)
        assert [m["cursor"] for m in again] == [str(c) for c in list(missed)[:3]]
        assert [m["subject"] for m in again] == ["missed-0", "missed-1", "missed-2"]
        live_one = record_changes(graph.store, [tag(user, "live")])
        assert ws.messages("b", 1)[0]["cursor"] == str(live_one[0])


def test_without_after_a_subscription_starts_now(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user = user_ids(graph)[0]
    record_changes(graph.store, [tag(user, "old")])
    before = cursor(graph)
    with connected(client, keys.tokens[Role.ADMIN], in_header=True) as ws:  # the key in the upgrade header
        ws.subscribe("now", TAGS, u=user)
        # It starts at some cursor at or after `before` (when the server has read where "now" is): record
        # until one arrives; it is never an older one.
        deadline = time.monotonic() + DEADLINE_S
        while True:
            record_changes(graph.store, [tag(user, "now")])
            try:
                got = ws.first("now", timeout=0.5)
                break
            except TimeoutError:
                assert time.monotonic() < deadline
        assert int(got["payload"]["data"]["userTagsChanged"]["cursor"]) > before
        assert got["payload"]["data"]["userTagsChanged"]["subject"] == "now"


def test_profile_changes_are_masked_per_role(client: TestClient, keys: Secured, graph: AnalysedGraph) -> None:
    """birthYear and customerId are not for analysts (api/policy.py): their changes never reach them; city's
    does; admins get all three."""
    user = user_ids(graph)[0]
    start = str(cursor(graph))
    fields = ("birthYear", "customerId", "city")
    recorded = record_changes(
        graph.store, [NewChange(user, "profile", f, "changed", "event", ("m1",)) for f in fields]
    )
    with (
        connected(client, keys.tokens[Role.ANALYST]) as analyst,
        connected(client, keys.tokens[Role.ADMIN]) as admin,
    ):
        analyst.subscribe("p", PROFILE, u=user, a=start)
        admin.subscribe("p", PROFILE, u=user, a=start)
        assert [m["subject"] for m in admin.messages("p", 3)] == list(fields)
        shown = analyst.messages("p", 1)[0]
        assert shown["subject"] == "city" and shown["cursor"] == str(recorded[2])


def test_membership_changes_only_of_users_the_purpose_may_use(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """A marketer's audience (MARKETING): a user without marketing consent entering is not shown (the member
    list would not show them); a consented one is; an exit is shown (it names no one new)."""
    admin = as_role(client, keys, "admin")
    admin.data(SAVE, {"id": "subs-consented", "d": EVERYONE_WITH_A_CITY, "p": "MARKETING"})
    consented = user_ids(graph, "u.marketingConsent = true AND u.city IS NOT NULL")[0]
    refused = user_ids(graph, "coalesce(u.marketingConsent, false) = false AND u.city IS NOT NULL")[0]
    start = str(cursor(graph))
    entered = [NewChange(u, "audience", "subs-consented", "entered", "event") for u in (refused, consented)]
    record_changes(
        graph.store, [*entered, NewChange(refused, "audience", "subs-consented", "exited", "event")]
    )
    with connected(client, keys.tokens[Role.MARKETER]) as ws:
        ws.subscribe("m", MEMBERSHIP, id="subs-consented", a=start)
        got = ws.messages("m", 2)
    assert [(m["userId"], m["change"]) for m in got] == [(consented, "ENTERED"), (refused, "EXITED")]


def test_consent_and_profile_writes_reach_membership_subscribers(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """A withdrawal through setConsent takes a user out of a saved audience and a grant brings them back; a
    city set again through upsertUser brings back a user who had none: the membership subscriber is told,
    and the profile subscriber of the city, with the cause, as of an event's effect."""
    admin = as_role(client, keys, "admin")
    in_city = {"attribute": {"field": "city", "op": "exists"}}
    admin.data(SAVE, {"id": "subs-direct", "d": in_city, "p": "MARKETING"})
    user = user_ids(graph, "u.marketingConsent = true AND u.city IS NOT NULL")[0]
    city = rows(graph, "MATCH (u:User {userId: $id}) RETURN u.city AS city", id=user)[0]["city"]
    consent = (
        "mutation($u: ID!, $g: Boolean!) "
        '{ setConsent(userId: $u, purpose: MARKETING, granted: $g, source: "subscription test") { granted } }'
    )
    with connected(client, keys.tokens[Role.ADMIN]) as ws:
        ws.subscribe("d", MEMBERSHIP, id="subs-direct", a=str(cursor(graph)))
        admin.data(consent, {"u": user, "g": False})
        admin.data(consent, {"u": user, "g": True})
        got = ws.messages("d", 2)
    assert [(m["userId"], m["change"], m["cause"], m["causeIds"]) for m in got] == [
        (user, "EXITED", "consent", ["marketing:withdrawn"]),
        (user, "ENTERED", "consent", ["marketing:granted"]),
    ]
    rows(graph, "MATCH (u:User {userId: $id}) REMOVE u.city", id=user)
    admin.data(SAVE, {"id": "subs-direct", "d": in_city, "p": "MARKETING"})  # saved again: the user is out
    with connected(client, keys.tokens[Role.ADMIN]) as ws:
        ws.subscribe("p", MEMBERSHIP, id="subs-direct", a=str(cursor(graph)))
        ws.subscribe("q", PROFILE, u=user, a=str(cursor(graph)))
        admin.data("mutation($u: ID!, $c: String!) { upsertUser(input: {id: $u, city: $c}) { id } }",
                   {"u": user, "c": city})  # fmt: skip
        got = interleaved(ws, p=1, q=1)
    (back,), (moved,) = got["p"], got["q"]
    assert (back["userId"], back["change"], back["cause"]) == (user, "ENTERED", "profile")
    assert (moved["subject"], moved["change"], moved["cause"]) == ("city", "CHANGED", "profile")


def interleaved(ws: Socket, **wanted: int) -> dict[str, list[dict[str, Any]]]:
    """The data of the next messages of several operations whose messages interleave: ``wanted[op]`` each."""
    got: dict[str, list[dict[str, Any]]] = {op: [] for op in wanted}
    while any(len(got[op]) < n for op, n in wanted.items()):
        message = ws.receive()
        assert message["type"] == "next" and not message["payload"].get("errors"), message
        got[message["id"]].append(next(iter(message["payload"]["data"].values())))
    return got


def test_tags_set_and_taken_by_hand_reach_tag_and_membership_subscribers(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """tagUser and untagUser are changes like an event's: the user's tag subscriber and the subscriber of
    an audience defined by the tag hear of them, cause manual."""
    admin = as_role(client, keys, "admin")
    rows(graph, "MERGE (t:Tag {tagId: 'by-hand'}) SET t.name = 'By hand', t.tier = 'preference'")
    admin.data(SAVE, {"id": "subs-by-hand", "d": {"tag": {"tagId": "by-hand"}}, "p": "ANALYSIS"})
    user = user_ids(graph)[0]
    start = str(cursor(graph))
    with connected(client, keys.tokens[Role.ADMIN]) as ws:
        ws.subscribe("t", TAGS, u=user, a=start)
        ws.subscribe("m", MEMBERSHIP, id="subs-by-hand", a=start)
        admin.data(
            'mutation($u: ID!) { tagUser(userId: $u, tagId: "by-hand", weight: 0.5) { created } }',
            {"u": user},
        )
        admin.data(
            'mutation($u: ID!) { tagUser(userId: $u, tagId: "by-hand", weight: 0.9) { created } }',
            {"u": user},
        )
        admin.data(
            'mutation($u: ID!) { untagUser(userId: $u, tagId: "by-hand") { removedSources } }', {"u": user}
        )
        got = interleaved(ws, t=3, m=2)
        tags, membership = got["t"], got["m"]
    assert [(m["subject"], m["change"], m["cause"]) for m in tags] == [
        ("by-hand", "ADDED", "manual"),
        ("by-hand", "UPDATED", "manual"),
        ("by-hand", "REMOVED", "manual"),
    ]
    assert [(m["userId"], m["change"], m["cause"]) for m in membership] == [
        (user, "ENTERED", "manual"),
        (user, "EXITED", "manual"),
    ]


def test_the_role_matrix_applies_to_subscriptions(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """Each a subscription the role may not make: refused before any message, with no data."""
    admin = as_role(client, keys, "admin")
    city = one(
        graph, "MATCH (u:User) WITH u.city AS c, count(*) AS n WHERE n < 60 RETURN c ORDER BY n DESC LIMIT 1"
    )["c"]
    small = {"attribute": {"field": "city", "op": "eq", "value": city}}
    years = {"attribute": {"field": "birthYear", "op": "gte", "value": 1900}}
    admin.data(SAVE, {"id": "subs-small", "d": small, "p": "MARKETING"})
    admin.data(SAVE, {"id": "subs-analysis", "d": EVERYONE_WITH_A_CITY, "p": "ANALYSIS"})
    admin.data(SAVE, {"id": "subs-years", "d": years, "p": "ANALYSIS"})
    user = user_ids(graph)[0]
    refused = [
        (Role.MARKETER, TAGS, {"u": user}, "FORBIDDEN", "Subscription.userTagsChanged"),  # no look-ups by id
        (Role.MARKETER, PROFILE, {"u": user}, "FORBIDDEN", "Subscription.profileChanged"),
        (Role.MARKETER, MEMBERSHIP, {"id": "subs-analysis"}, "FORBIDDEN", "purpose"),  # consent purposes only
        (Role.MARKETER, MEMBERSHIP, {"id": "subs-small"}, "FORBIDDEN", "fewer than"),  # k-anonymity floor
        (Role.ANALYST, MEMBERSHIP, {"id": "subs-small"}, "FORBIDDEN", "fewer than"),
        (Role.SERVICE, MEMBERSHIP, {"id": "subs-small"}, "FORBIDDEN", "fewer than"),
        (Role.ANALYST, MEMBERSHIP, {"id": "subs-years"}, "FORBIDDEN", "birthYear"),  # a masked attribute
        (Role.ADMIN, MEMBERSHIP, {"id": "no-such-audience"}, "NOT_FOUND", "no saved audience"),
        (Role.ADMIN, TAGS, {"u": "no-such-user"}, "NOT_FOUND", "no user"),
        (Role.ADMIN, TAGS, {"u": user, "a": "1 OR 1=1"}, "BAD_USER_INPUT", "not a cursor"),
        (Role.ADMIN, TAGS, {"u": user, "a": str(10**15)}, "BAD_USER_INPUT", "no change has cursor"),
    ]
    for role, query, variables, code, says in refused:
        with connected(client, keys.tokens[role]) as ws:
            ws.subscribe("x", query, **variables)
            error = ws.refusal("x")
        assert error["extensions"]["code"] == code and says in error["message"], (role, variables, error)
    with connected(client, keys.tokens[Role.ADMIN]) as ws:  # the small audience: admins list any audience
        ws.subscribe("ok", MEMBERSHIP, id="subs-small", a=str(cursor(graph)))
        member = user_ids(graph, f"u.city = '{city}' AND u.marketingConsent = true")[0]
        record_changes(graph.store, [NewChange(member, "audience", "subs-small", "entered", "event")])
        assert ws.messages("ok", 1)[0]["userId"] == member


def test_caps_per_connection_and_per_key(client: TestClient, keys: Secured, graph: AnalysedGraph) -> None:
    """2 a connection and 3 a key (API_SETTINGS): the next is RATE_LIMITED; completing one frees its place.
    Each subscription taken is seen running (its first message) before the next is asked for."""
    user = user_ids(graph)[0]
    start = str(cursor(graph))
    record_changes(graph.store, [tag(user, "cap")])
    token = keys.tokens[Role.SERVICE]

    def running(ws: Socket, op_id: str) -> None:
        ws.subscribe(op_id, TAGS, u=user, a=start)
        assert ws.messages(op_id, 1)[0]["subject"] == "cap"

    with connected(client, token) as one, connected(client, token) as two:
        running(one, "1")
        running(one, "2")
        one.subscribe("3", TAGS, u=user, a=start)
        error = one.refusal("3")
        assert error["extensions"]["code"] == "RATE_LIMITED" and "on this connection" in error["message"]
        running(two, "4")
        two.subscribe("5", TAGS, u=user, a=start)
        error = two.refusal("5")
        assert error["extensions"]["code"] == "RATE_LIMITED" and "for this key" in error["message"]
        one.complete("1")
        deadline = time.monotonic() + DEADLINE_S
        for attempt in range(10_000):  # the place is free once the server has ended "1": poll for it
            two.subscribe(f"6-{attempt}", TAGS, u=user, a=start)
            answer = two.first(f"6-{attempt}")
            if answer["type"] == "next" and not answer["payload"].get("errors"):
                break
            assert time.monotonic() < deadline and "RATE_LIMITED" in str(answer), answer


def test_no_key_or_a_wrong_key_is_refused_on_both_transports(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    wrong = "pg_deadbeef_" + "x" * 43
    assert closed_with(client, {"type": "connection_init"}) == 4403  # no credentials at all
    assert (
        closed_with(client, {"type": "connection_init", "payload": {"Authorization": f"Bearer {wrong}"}})
        == 4403
    )
    assert (
        closed_with(client, {"type": "connection_init", "payload": {"Authorization": "Basic YTpi"}}) == 4403
    )
    assert closed_with(client, None) == 4401  # a subscribe before connection_init runs nothing
    # A wrong key in the upgrade header is not rescued by a good one in the payload.
    good = {"type": "connection_init", "payload": {"Authorization": f"Bearer {keys.tokens[Role.ADMIN]}"}}
    assert closed_with(client, good, headers=bearer(wrong)) == 4403
    # The legacy graphql-ws protocol (no connection_init check of ours) is not served at all.
    assert closed_with(client, good, protocol="graphql-ws") in (4406, 1000)
    query = {"query": TAGS, "variables": {"u": user_ids(graph)[0]}}
    for headers in ({}, bearer(wrong)):
        answer = client.post("/graphql/stream", json=query, headers=headers)
        assert (
            answer.status_code == 401
            and answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        )


def test_a_revoked_key_ends_its_subscriptions(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    stored, token = KeyFile(keys.settings.api_keys_path).create("subs-revoked", Role.ADMIN)
    user = user_ids(graph)[0]
    deadline = time.monotonic() + DEADLINE_S
    while client.post("/graphql", json={"query": "{ __typename }"}, headers=bearer(token)).status_code != 200:
        assert time.monotonic() < deadline  # the server re-reads the keys file once a second
        time.sleep(0.3)
    with connected(client, token) as ws:
        ws.subscribe("r", TAGS, u=user, a=str(cursor(graph)))
        record_changes(graph.store, [tag(user, "before-revoke")])
        assert ws.messages("r", 1)[0]["subject"] == "before-revoke"
        KeyFile(keys.settings.api_keys_path).revoke(stored.key_id)
        error = ws.refusal("r")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_subscription_on_a_user_who_is_forgotten_ends_with_an_error(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user = user_ids(graph, "true", 3)[2]
    record_changes(graph.store, [tag(user, "before-forget")])
    with connected(client, keys.tokens[Role.SERVICE]) as ws:
        ws.subscribe("f", TAGS, u=user, a="0")
        assert ws.messages("f", 1)[0]["subject"] == "before-forget"
        as_role(client, keys, "service").data(
            "mutation($u: ID!) { forgetUser(userId: $u) { subject } }", {"u": user}
        )
        error = ws.refusal("f")
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert changes_after(graph.store, 0, user_ids=[user]) == []  # and nothing of them is left to resume


def test_a_subscription_start_is_audited_without_the_ids_it_watches(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user = user_ids(graph)[0]
    with connected(client, keys.tokens[Role.ANALYST]) as ws:
        ws.subscribe(
            "audited", "subscription Mine($u: ID!) { userTagsChanged(userId: $u) { cursor } }", u=user
        )
        record_changes(graph.store, [tag(user, "audited")])
        deadline = time.monotonic() + DEADLINE_S
        while not [e for e in keys.audit_entries() if e["action"] == "subscribe"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    entry = [e for e in keys.audit_entries() if e["action"] == "subscribe"][-1]
    assert (
        entry["what"] == "userTagsChanged" and entry["role"] == "analyst" and entry["actor"] == "test-analyst"
    )
    assert entry["details"] == {"client_operation_name": "Mine"} and user not in json.dumps(entry)


def test_sse_stream(graph: AnalysedGraph, keys: Secured, neo4j_connection: ConnectionInfo) -> None:
    """graphql-sse distinct connections over real HTTP: the backlog after a cursor, then a live change, as
    `event: next`; a refused subscription is one `next` with the error, then `complete`."""
    user = user_ids(graph)[0]
    start = cursor(graph)
    backlog = record_changes(graph.store, [tag(user, "sse-1"), tag(user, "sse-2")])
    with (
        live(create_app(keys.settings, connection=neo4j_connection), "sse") as url,
        httpx.Client(base_url=url, timeout=DEADLINE_S) as http,
    ):
        body = {"query": TAGS, "variables": {"u": user, "a": str(start)}}
        with http.stream("POST", "/graphql/stream", json=body, headers=keys.headers("admin")) as answer:
            assert answer.status_code == 200 and answer.headers["content-type"].startswith(
                "text/event-stream"
            )
            lines = answer.iter_lines()
            first = [sse_event(lines) for _ in range(2)]
            live_one = record_changes(graph.store, [tag(user, "sse-live")])
            first.append(sse_event(lines))
        assert [e[0] for e in first] == ["next"] * 3
        cursors = [json.loads(e[1])["data"]["userTagsChanged"]["cursor"] for e in first]
        assert cursors == [str(c) for c in [*backlog, *live_one]]
        with http.stream("POST", "/graphql/stream", json=body, headers=keys.headers("marketer")) as answer:
            lines = answer.iter_lines()
            refused, done = sse_event(lines), sse_event(lines)
        assert (
            refused[0] == "next" and json.loads(refused[1])["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        )
        assert done == ("complete", "")


def sse_event(lines: Iterator[str]) -> tuple[str, str]:
    """The next server-sent event (name, data), skipping comments (heartbeats)."""
    name, data = "", ""
    for line in lines:
        if not line:
            if name:
                return name, data
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "event":
            name = value.strip()
        elif field == "data":
            data = value.strip()
    raise AssertionError("the stream ended before an event")


def test_a_tag_a_recorded_event_adds_reaches_the_subscriber(
    client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    """End to end: recordEvent (through the event log and its fold) makes a night owl of a new user; the
    subscription gets that tag's change, caused by the event."""
    service = as_role(client, keys, "service")
    user = "subs-night-owl"
    service.data(
        "mutation($u: UserInput!) { upsertUser(input: $u) { id } }", {"u": {"id": user, "city": "Wuhan"}}
    )
    sku = one(graph, "MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku LIMIT 1")["sku"]
    night = datetime.now(UTC).replace(hour=23, minute=0, second=0, microsecond=0) - timedelta(days=2)
    record = "mutation($e: EventInput!) { recordEvent(input: $e) { tagsAdded } }"
    with connected(client, keys.tokens[Role.SERVICE]) as ws:
        ws.subscribe("e2e", TAGS, u=user, a=str(cursor(graph)))
        added: list[str] = []
        for i in range(10):
            event = {
                "userId": user,
                "kind": "VIEW",
                "at": (night + timedelta(minutes=i)).isoformat(),
                "target": sku,
                "eventId": f"subs-night-{i}",
            }
            added += service.data(record, {"e": event})["recordEvent"]["tagsAdded"]
        assert "night-owl" in added
        owl = ws.messages("e2e", 1)[0]
        while owl["subject"] != "night-owl":  # any other tag change of these events comes first, in order
            owl = ws.messages("e2e", 1)[0]
    assert owl["change"] == "ADDED" and owl["cause"] == "event" and owl["ruleId"] == "night-owl"
    assert any("subs-night-9" in c for c in owl["causeIds"]), owl  # the event that tipped it

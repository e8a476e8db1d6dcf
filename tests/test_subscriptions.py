"""Issue 18, push: GraphQL subscriptions over the change log (api/change_feed.py, api/types/changes.py),
over graphql-transport-ws and SSE, against the real Neo4j.

First the feed itself (one poller per process, subscribers resuming after a cursor), then the API: resume
by cursor, live delivery, masking per role, consent, caps, credentials on both transports, the role
matrix, audit, and an end-to-end change made by recordEvent. Each attack is the request that would
break the rule, asserted not to. No timing assertions: waits poll with a deadline.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest

from personagraph.api.change_feed import CapReached, ChangeFeed, ChangeFilter, Stream, UserGone
from personagraph.graph.changes.log import Change, NewChange, changes_after, record_changes
from personagraph.graph.privacy.forget import forget_user, suppression_key
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore

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


async def collect(
    batches: AsyncIterator[list[Change]], done: Callable[[list[Change]], bool]
) -> list[Change]:
    """Changes from ``batches`` until ``done`` says enough (or the deadline passes: the test then fails
    on what it got)."""
    got: list[Change] = []

    async def read() -> None:
        async for batch in batches:
            got.extend(batch)
            if done(got):
                return

    try:
        await asyncio.wait_for(read(), DEADLINE_S)
    except TimeoutError:
        pass
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
        return await collect(feed.batches(ChangeFilter(("tag",), user_ids=("u1",)), first[-1]), lambda g: len(g) >= 4)

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

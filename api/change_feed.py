"""The change log as a live feed: one poller per process reads new changes and fans them out to the
GraphQL subscriptions that want them (api/types/changes.py), each resuming after its own cursor.

How nothing is lost or doubled. The change log hands out cursors in commit order (graph/changes/log.py),
so a reader that has seen cursor n has seen every change before it. The poller (``ChangeFeed``) reads
``changes_after(last)`` every ``PERSONA_SUBSCRIPTIONS_POLL_S`` and puts each change into the bounded
queue of every *attached* subscriber whose filter matches it. A subscriber attaches first, then reads
its backlog from Neo4j (``changes_after(position, filter)``) until a short page, then takes its queue,
skipping what its backlog already gave (cursor at or under its position):

- a change at or under the poller's ``last`` when the subscriber attached was committed before it
  attached, so the backlog read that follows sees it;
- a change above it is put into the subscriber's queue.

A subscriber whose queue fills up (it falls behind) is detached and told so; it attaches again and
reads its backlog from its position, so a slow one costs Neo4j reads, never changes. Between changes a
subscriber wakes every ``IDLE_S`` with an empty batch, so its consumer can re-check what may have
changed (the caller's credentials). The poller also checks, every ``USERS_CHECK_S``, that the users
subscriptions watch still exist: a forgotten user's subscriptions end with ``UserGone``.

Caps: ``PERSONA_SUBSCRIPTIONS_PER_CONNECTION`` live subscriptions on one connection and
``PERSONA_SUBSCRIPTIONS_PER_KEY`` per key (or token subject) in this process (``lease``). Graph access
only through graph/ functions, in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from personagraph.api.errors import ApiError
from personagraph.graph.changes.log import Change, ChangeKind, changes_after, latest_cursor
from personagraph.graph.ids import existing_ids
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)

PAGE = 1000  # changes read at once, by the poller and by a subscriber reading its backlog
IDLE_S = 1.0  # a subscriber with nothing to deliver wakes this often (an empty batch)
USERS_CHECK_S = 1.0  # how often the poller checks that watched users still exist
STOP_WAIT_S = 30.0  # how long stopping waits for the poller's read in progress
READY_WAIT_S = 10.0  # how long a subscription waits for the poller's first read before giving up


@dataclass(frozen=True)
class ChangeFilter:
    """What one subscription wants: changes of these kinds, about these users and/or subjects."""

    kinds: tuple[ChangeKind, ...]
    user_ids: tuple[str, ...] | None = None
    subjects: tuple[str, ...] | None = None

    def matches(self, change: Change) -> bool:
        return (
            change.kind in self.kinds
            and (self.user_ids is None or change.user_id in self.user_ids)
            and (self.subjects is None or change.subject in self.subjects)
        )

    def read(self, store: GraphStore, after: int) -> list[Change]:
        """A page of the backlog after ``after`` that this filter matches (graph/changes/log.py)."""
        return changes_after(
            store, after, user_ids=self.user_ids, subjects=self.subjects, kinds=self.kinds, limit=PAGE
        )


class UserGone(Exception):
    """The user a subscription watches no longer exists (forgotten): the subscription ends."""


class CapReached(ApiError):
    """Too many live subscriptions on this connection, or for this key in this process."""

    code = "RATE_LIMITED"


_OVERFLOW = object()  # the subscriber fell behind: read the backlog again
_GONE = object()  # the watched user is gone


@dataclass(eq=False)
class _Subscriber:
    filter: ChangeFilter
    queue: asyncio.Queue[Any]


@dataclass(eq=False)
class Lease:
    """One live subscription counted against its connection's and its key's caps; ``release`` once."""

    feed: ChangeFeed
    connection: int
    key: str
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.feed._release(self)


@dataclass
class _Caps:
    per_connection: int
    per_key: int
    connections: Counter[int] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)


class ChangeFeed:
    """The process's one poller of the change log and its subscribers (the module's docstring says how)."""

    def __init__(
        self,
        store: GraphStore,
        *,
        poll_s: float = 0.1,
        queue_size: int = 1000,
        per_connection: int = 10,
        per_key: int = 100,
    ) -> None:
        self.store = store
        self.poll_s = poll_s
        self.queue_size = queue_size
        self.caps = _Caps(per_connection, per_key)
        self.last: int | None = None  # the cursor of the last change fanned out
        self._attached: set[_Subscriber] = set()
        self._ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, store: GraphStore, settings: Settings) -> ChangeFeed:
        return cls(
            store,
            poll_s=settings.subscriptions_poll_s,
            queue_size=settings.subscriptions_queue,
            per_connection=settings.subscriptions_per_connection,
            per_key=settings.subscriptions_per_key,
        )

    # The poller ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start polling (in the running event loop: the app's lifespan)."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="change-feed")

    async def stop(self) -> None:
        """Stop polling, once the read in progress (in a worker thread) is over: the lifespan closes the
        driver next, and a read cancelled here would go on in its thread on a closing connection.
        Subscriptions still open end when their connections close."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=STOP_WAIT_S)
        except TimeoutError:  # a read stuck past the query timeout: give up on it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        checked = 0.0
        while not self._stopping.is_set():
            try:
                if self.last is None:
                    self.last = await run_in_threadpool(latest_cursor, self.store)
                    self._ready.set()
                found = await self.poll()
                if time.monotonic() - checked >= USERS_CHECK_S:
                    await self.check_users()
                    checked = time.monotonic()
            except Exception as exc:  # Neo4j away: try again at the next tick, subscribers wait
                log.warning("change feed: reading the change log failed: %s", exc)
                found = 0
            if found < PAGE:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll_s)

    async def poll(self) -> int:
        """Read the changes after the last one fanned out and fan them out; how many there were."""
        assert self.last is not None
        found = await run_in_threadpool(changes_after, self.store, self.last, limit=PAGE)
        for change in found:
            for subscriber in list(self._attached):
                if subscriber.filter.matches(change):
                    self._put(subscriber, change)
        if found:
            self.last = found[-1].seq
        return len(found)

    async def check_users(self) -> None:
        """End the subscriptions watching users who no longer exist (forgotten: their changes went too)."""
        watched = {u for s in self._attached for u in s.filter.user_ids or ()}
        if not watched:
            return
        there = await run_in_threadpool(existing_ids, self.store, "users", sorted(watched))
        for subscriber in list(self._attached):
            if set(subscriber.filter.user_ids or ()) - there:
                self._signal(subscriber, _GONE)

    def _put(self, subscriber: _Subscriber, item: Change) -> None:
        try:
            subscriber.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._signal(subscriber, _OVERFLOW)  # it reads its backlog again: nothing is lost

    def _signal(self, subscriber: _Subscriber, signal: object) -> None:
        """Detach a subscriber and leave it only ``signal`` to read."""
        self._attached.discard(subscriber)
        while not subscriber.queue.empty():
            subscriber.queue.get_nowait()
        subscriber.queue.put_nowait(signal)

    # Subscribers -----------------------------------------------------------------------------------

    def lease(self, connection: object, key: str) -> Lease:
        """Count one more live subscription on ``connection`` (any object standing for it) and for
        ``key``; CapReached (RATE_LIMITED) when either is at its cap."""
        caps, conn = self.caps, id(connection)
        if caps.connections[conn] >= caps.per_connection:
            raise CapReached(
                f"Too many subscriptions on this connection: at most {caps.per_connection} at once "
                "(PERSONA_SUBSCRIPTIONS_PER_CONNECTION); complete one first"
            )
        if caps.keys[key] >= caps.per_key:
            raise CapReached(
                f"Too many subscriptions for this key: at most {caps.per_key} at once on this server "
                "process (PERSONA_SUBSCRIPTIONS_PER_KEY); complete one first"
            )
        caps.connections[conn] += 1
        caps.keys[key] += 1
        return Lease(self, conn, key)

    def _release(self, lease: Lease) -> None:
        caps = self.caps
        caps.connections[lease.connection] -= 1
        caps.keys[lease.key] -= 1
        caps.connections += Counter()  # drop the zeros
        caps.keys += Counter()

    async def latest(self) -> int:
        """The latest committed cursor (where a subscription without ``after`` starts)."""
        return await run_in_threadpool(latest_cursor, self.store)

    async def batches(self, wanted: ChangeFilter, after: int) -> AsyncIterator[list[Change]]:
        """The changes ``wanted`` after cursor ``after``, oldest first, in batches: the backlog, then
        live ones as they come; an empty batch every ``IDLE_S`` without any. Raises UserGone when a
        watched user goes, ApiError (UNAVAILABLE) when the poller has not read the log yet."""
        await self._wait_ready()
        position = after
        while True:
            subscriber = _Subscriber(wanted, asyncio.Queue(maxsize=self.queue_size))
            self._attached.add(subscriber)  # first: whatever comes after the poller's last is queued
            try:
                while True:  # the backlog, from Neo4j
                    page = await run_in_threadpool(wanted.read, self.store, position)
                    if page:
                        position = page[-1].seq
                        yield page
                    if len(page) < PAGE:
                        break
                async for batch in self._live(subscriber, position):
                    position = batch[-1].seq if batch else position
                    yield batch
            finally:
                self._attached.discard(subscriber)

    async def _live(self, subscriber: _Subscriber, position: int) -> AsyncIterator[list[Change]]:
        """What the poller queues for ``subscriber``, newer than ``position``; returns when it overflowed."""
        while True:
            try:
                first = await asyncio.wait_for(subscriber.queue.get(), IDLE_S)
            except TimeoutError:
                yield []
                continue
            batch: list[Change] = []
            for item in _drain(subscriber.queue, first):
                if item is _OVERFLOW:
                    return
                if item is _GONE:
                    raise UserGone("the user this subscription watches no longer exists")
                if item.seq > position:
                    batch.append(item)
                    position = item.seq
            if batch:
                yield batch

    async def _wait_ready(self) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), READY_WAIT_S)
        except TimeoutError:
            raise ApiError("The change log cannot be read right now; retry shortly", "UNAVAILABLE") from None


def _drain(queue: asyncio.Queue[Any], first: Any) -> list[Any]:
    """``first`` and whatever else is queued now."""
    items = [first]
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


class Stream(AsyncIterator[Any]):
    """An async iterator over ``source`` that runs ``on_close`` once when closed or exhausted, even if it
    was never started (an async generator's ``finally`` runs only once it has started)."""

    def __init__(self, source: AsyncIterator[Any], on_close: Callable[[], None]) -> None:
        self.source = source
        self.on_close = on_close

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.source.__anext__()
        except BaseException:
            self.on_close()
            raise

    async def aclose(self) -> None:
        try:
            aclose = getattr(self.source, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self.on_close()


__all__ = ["CapReached", "ChangeFeed", "ChangeFilter", "Lease", "Stream", "UserGone"]

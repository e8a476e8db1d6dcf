"""The event collector: ``POST /v1/batch`` (and ``/v1/track``, ``/v1/identify``, ``/v1/page``) in the
track/identify/page shape the common tracking APIs use, answered once the events are durable.

Events are validated one by one (graph/events/envelope.py): a bad one is rejected with its index and
reason, the good ones are kept. Accepted events are appended to the event log (graph/events/journal.py,
fsync'd) and acknowledged; the folding worker (graph/events/worker.py) folds them into the graph within
moments. An event whose ``messageId`` was seen before is acknowledged as a duplicate and not applied
again. Keys and roles as for GraphQL: ``service`` and ``admin`` keys may send events, others get 403.

With ``PERSONA_KAFKA_BOOTSTRAP`` set, the accepted events of these paths go to the Kafka topic instead
(graph/events/kafka.py ``EventProducer``: keyed by user, answered once the broker acknowledged them) and
``persona consume`` folds them; duplicates are then not flagged here but folded once.

The GraphQL mutations recordEvent, recordOrder and recordEvents go through the same log
(:class:`EventCollector`); recordEvent and recordOrder then wait for their fold and answer its outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from personagraph.api.auth import principal_of
from personagraph.api.errors import ApiError
from personagraph.api.policy import WRITERS
from personagraph.graph.audit import AuditEntry, AuditLog
from personagraph.graph.errors import KafkaError, Neo4jUnavailableError
from personagraph.graph.events.envelope import MAX_BATCH_BYTES, Envelope, ParsedBatch, Rejection, parse_batch
from personagraph.graph.events.journal import Appended, Journal, Outcome
from personagraph.graph.events.kafka import EventProducer

log = logging.getLogger(__name__)
BATCH_PATH = "/v1/batch"
SINGLE_PATHS = {"/v1/track": "track", "/v1/identify": "identify", "/v1/page": "page"}
COLLECTOR_PATHS = (BATCH_PATH, *SINGLE_PATHS)
WAIT_STEP_S = 0.005  # how often the awaited fold outcomes are looked up (at once after a fold here)
CHECK_AFTER_S = 1.0  # ... and after how long (then every so often) it asks whether Neo4j answers


class LogBusyError(ApiError):
    """The event log could not take an append now (its write lock stayed busy, or the disk refused)."""

    code = "UNAVAILABLE"


class NotFoldedError(ApiError):
    """An event was accepted (it is durable and will be folded) but its fold did not finish in time."""

    code = "NOT_FOLDED_YET"


@dataclass(frozen=True)
class BatchReceipt:
    """What the collector answers for a batch: how many were kept, which were duplicates or rejected."""

    accepted: int
    duplicates: int
    rejected: list[Rejection]
    offsets: list[int]

    def as_json(self) -> dict[str, Any]:
        return {
            "success": True,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"index": r.index, "reason": r.reason} for r in self.rejected],
        }


class EventCollector:
    """Appends envelopes to the event log (off the event loop: each append fsyncs) and waits for folds."""

    def __init__(
        self,
        journal: Journal,
        wait_s: float,
        available: Callable[[], bool] | None = None,
        producer: EventProducer | None = None,
    ) -> None:
        self.journal = journal
        self.producer = producer  # set: the collector's paths produce to Kafka instead of appending
        self.wait_s = wait_s
        self.available = available  # does Neo4j answer now? (asked while a fold is awaited)
        # The outcomes awaited in this process, by log offset: one poller looks them all up at once.
        self._waiting: dict[int, list[asyncio.Future[Outcome]]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def folded(self) -> None:
        """A fold in this process recorded outcomes (the folding worker's thread calls this): look now,
        not at the next step."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def append(self, envelopes: Sequence[Envelope]) -> list[Appended]:
        """Append to the event log off the event loop (each append fsyncs). A log too busy to take the
        write lock within its busy timeout (or a full disk) is LogBusyError: nothing was kept, send again."""
        if not envelopes:
            return []
        try:
            return await run_in_threadpool(self.journal.append, list(envelopes))
        except sqlite3.OperationalError as error:
            log.warning("event log append failed: %s", error)
            raise LogBusyError(
                "the event log is busy; nothing of this request was kept, send it again"
            ) from None

    async def receive(self, parsed: ParsedBatch) -> BatchReceipt:
        """Append a parsed batch's accepted events; the receipt of the whole batch."""
        appended = await self.append([envelope for _, envelope in parsed.accepted])
        return BatchReceipt(
            accepted=sum(not a.duplicate for a in appended),
            duplicates=sum(a.duplicate for a in appended),
            rejected=parsed.rejected,
            offsets=[a.offset for a in appended if a.offset is not None],
        )

    async def produce(
        self, parsed: ParsedBatch, events: Sequence[Any], received_at: datetime
    ) -> BatchReceipt:
        """Produce a parsed batch's accepted events to Kafka, each as it was sent (``events``, the batch's),
        keyed by its user; answered once the broker acknowledged them all. Not acknowledged in time:
        LogBusyError (some may be stored: sending the batch again folds each event once)."""
        assert self.producer is not None
        accepted = [(envelope.user_id, events[index]) for index, envelope in parsed.accepted]
        try:
            await run_in_threadpool(self.producer.send, accepted, received_at=received_at)
        except KafkaError as error:
            log.warning("producing events failed: %s", error)
            raise LogBusyError(f"{error}; send the batch again") from None
        return BatchReceipt(accepted=len(accepted), duplicates=0, rejected=parsed.rejected, offsets=[])

    async def record(self, envelope: Envelope) -> Outcome:
        """Append one envelope and wait for its fold (a duplicate: for the fold of the first one)."""
        appended = (await self.append([envelope]))[0]
        assert appended.offset is not None
        outcome = await self.outcome(appended.offset)
        if appended.duplicate and outcome.status == "folded":
            return Outcome(outcome.offset, "folded", {"new": False})  # recorded before: nothing changed now
        return outcome

    async def outcome(self, offset: int) -> Outcome:
        """The fold's outcome of entry ``offset``, once there is one. Neo4j away: UNAVAILABLE at once
        (the entry is durable and is folded when it is back; sending it again applies it once)."""
        started = time.monotonic()
        while True:
            remaining = self.wait_s - (time.monotonic() - started)
            if remaining <= 0:
                raise NotFoldedError(
                    f"accepted as entry {offset} of the event log, but not folded into the graph within "
                    f"{self.wait_s:g} s (is a folding worker running? docs/realtime.md); it will be"
                )
            try:
                return await asyncio.wait_for(self._awaited(offset), min(CHECK_AFTER_S, remaining))
            except TimeoutError:
                pass
            if self.available is not None and not await run_in_threadpool(self.available):
                raise Neo4jUnavailableError(
                    f"accepted as entry {offset} of the event log, but Neo4j is unavailable; it is "
                    "folded when Neo4j is back"
                )

    async def _awaited(self, offset: int) -> Outcome:
        """Wait for ``offset``'s outcome with every other awaited one: a single poller per process reads
        them all from the log in one lookup every ``WAIT_STEP_S``, at once when a fold in this process
        says it recorded some (``folded``), instead of a thread hop per waiting request per step."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.setdefault(offset, []).append(future)
        if self._poller is None or self._poller.done():
            self._loop, self._wake = loop, asyncio.Event()
            self._poller = loop.create_task(self._poll(), name="fold-outcomes")
        try:
            return await future
        finally:
            waiters = self._waiting.get(offset)
            if waiters is not None and future in waiters:
                waiters.remove(future)
                if not waiters:
                    del self._waiting[offset]

    async def _poll(self) -> None:
        wake = self._wake
        assert wake is not None
        while self._waiting:
            wake.clear()
            try:
                found = await run_in_threadpool(self.journal.outcomes, sorted(self._waiting))
            except Exception as error:  # the log unreadable for a moment: the waiters time out as before
                log.warning("reading fold outcomes failed: %s", error)
                found = {}
            for offset, outcome in found.items():
                for future in self._waiting.pop(offset, []):
                    if not future.done():
                        future.set_result(outcome)
            if not self._waiting:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), WAIT_STEP_S)


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "errors": [{"message": message, "extensions": {"code": code}}]}, status
    )


def _events_of(body: Any, path: str) -> list[Any] | JSONResponse:
    """The events a request carries: a batch's ``batch`` list (its top-level ``context`` given to each
    event that has none), or the one event a single-event path carries (its type from the path)."""
    if not isinstance(body, dict):
        return _error(400, "expected a JSON object", "BAD_REQUEST")
    if path in SINGLE_PATHS:
        return [{**body, "type": SINGLE_PATHS[path]}]
    events = body.get("batch")
    if not isinstance(events, list):
        return _error(400, "batch: expected a list of events", "BAD_REQUEST")
    shared = body.get("context")
    if isinstance(shared, dict):
        return [{"context": shared, **e} if isinstance(e, dict) and "context" not in e else e for e in events]
    return events


def install_collector(app: FastAPI, audit: AuditLog) -> None:
    """Add the collector's routes to ``app``; ``app.state.collector`` is set by its lifespan."""

    async def collect(request: Request) -> JSONResponse:
        principal = principal_of(request.scope)
        if principal is None or principal.role not in WRITERS:
            return _error(403, "sending events needs a service or admin key", "FORBIDDEN")
        collector: EventCollector | None = getattr(request.app.state, "collector", None)
        if collector is None:
            return _error(503, "the event log is not open", "UNAVAILABLE")
        raw = await request.body()
        if len(raw) > MAX_BATCH_BYTES:
            return _error(413, f"a batch may hold at most {MAX_BATCH_BYTES} bytes", "PAYLOAD_TOO_LARGE")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return _error(400, "the body is not JSON", "BAD_REQUEST")
        events = _events_of(body, request.url.path)
        if isinstance(events, JSONResponse):
            return events
        received_at = datetime.now(UTC)
        parsed = parse_batch(events, received_at=received_at)
        try:
            if collector.producer is not None:
                receipt = await collector.produce(parsed, events, received_at)
            else:
                receipt = await collector.receive(parsed)
        except LogBusyError as error:
            answer = _error(503, str(error), error.code)
            answer.headers["Retry-After"] = "1"
            return answer
        audit.record(
            AuditEntry(
                principal.subject,
                principal.role.value,
                "events",
                request.url.path,
                receipt.accepted,
                {"duplicates": receipt.duplicates, "rejected": len(receipt.rejected)},
            )
        )
        return JSONResponse(receipt.as_json())

    for path in COLLECTOR_PATHS:
        app.add_api_route(path, collect, methods=["POST"], include_in_schema=False)


__all__ = ["COLLECTOR_PATHS", "BatchReceipt", "EventCollector", "NotFoldedError", "install_collector"]

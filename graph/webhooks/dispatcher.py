"""The dispatcher: reads the change log after each webhook's cursor and delivers what it wants, in cursor
order per webhook, at least once.

Each round reads every webhook (with the delivery it waits to retry) and the log's latest cursor, then
steps each webhook in a thread of its own, so a slow receiver delays only its own messages:

- a webhook waiting to retry a delivery tries it when its time has come; until that delivery is delivered
  or dead-lettered, nothing after it is sent (order per webhook, so per user, holds);
- otherwise it reads up to ``PERSONA_WEBHOOKS_BATCH`` changes after its cursor (of the kinds and subjects
  it wants), POSTs one message per change it wants, in cursor order, and stops at the first failure, which
  waits ``PERSONA_WEBHOOKS_RETRY_S[n]`` before its next attempt, and is dead-lettered after the last;
- its cursor moves (in the transaction that records the deliveries) only past changes delivered,
  dead-lettered or not wanted. A crash between a POST and that write sends the message again: at least
  once, with the same ``webhook-id`` for the receiver to dedupe.

A forgotten user's changes leave the log with them, and their deliveries are dropped (graph/privacy/forget.py
deletes them; a delivery waiting for a retry is checked for before it is tried, and none is written for a
user no longer in the graph).

One dispatcher per machine at a time (a file lock: ``<data_dir>/webhooks.dispatch.lock``): every API process
may run one (``PERSONA_WEBHOOKS_IN_API``) and `persona webhooks run` runs one alone; the others wait on
the lock and take over when its holder dies. Run it on one machine of a deployment: two machines would
each send every message (still at least once, but out of order).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from personagraph.graph.changes.log import Change, changes_after, latest_cursor
from personagraph.graph.file_lock import FileLock
from personagraph.graph.rounds import RETRYABLE, Lock, Rounds
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.webhooks.model import Delivery, Message, Webhook, message_of
from personagraph.graph.webhooks.registry import deliveries, list_webhooks, record_deliveries
from personagraph.graph.webhooks.send import Attempt, http_client, send
from personagraph.graph.webhooks.signing import secret_bytes

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 60.0
PRUNE_BATCH = 10_000
MAX_THREADS = 8


def lock_path(settings: Settings) -> Path:
    """The file whose lock lets one dispatcher per machine run."""
    return settings.data_dir / "webhooks.dispatch.lock"


@dataclass
class DispatchStats:
    """What the dispatcher did since it started, for logs and tests."""

    delivered: int = 0
    failed_attempts: int = 0
    dead: int = 0
    rounds_run: int = 0
    pruned: int = 0
    last_round_at: float | None = None


class Dispatcher:
    """Delivers the change log to every webhook; ``dispatch_once`` for a round, ``run`` until stopped."""

    def __init__(
        self,
        store: GraphStore,
        settings: Settings,
        *,
        lock: Lock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.lock = lock
        self.rounds = Rounds("webhooks", settings.webhooks_poll_s, lock)
        self.client = client or http_client(settings)
        self.stats = DispatchStats()
        self._stats_lock = threading.Lock()
        self._pruned_at = 0.0

    def dispatch_once(self) -> int:
        """One round over every webhook; how many messages were delivered or dead-lettered."""
        latest = latest_cursor(self.store)  # first: every change up to it is committed, so visible below
        hooks = list_webhooks(self.store)
        if not hooks:
            return 0
        if len(hooks) == 1:
            done = [self._step_alone(hooks[0], latest)]
        else:
            with ThreadPoolExecutor(min(MAX_THREADS, len(hooks)), thread_name_prefix="persona-hook") as pool:
                done = list(pool.map(lambda hook: self._step_alone(hook, latest), hooks))
        self.stats.rounds_run += 1
        self.stats.last_round_at = time.time()
        return sum(done)

    def _step_alone(self, hook: Webhook, latest: int) -> int:
        """``_step``, where an unexpected error holds back this webhook only (logged; tried next round);
        Neo4j being away stops the round (graph/rounds.py backs off)."""
        try:
            return self._step(hook, latest)
        except RETRYABLE:
            raise
        except Exception:
            log.exception("webhook %s: dispatch failed; tried again next round", hook.webhook_id)
            return 0

    def _step(self, hook: Webhook, latest: int) -> int:
        """Deliver what this webhook is due: its retry first, then changes after its cursor."""
        key = secret_bytes(self.settings, hook.webhook_id)
        cursor = hook.cursor
        handled = 0
        if hook.retrying is not None:
            settled = self._retry(hook, hook.retrying, key)
            if settled is None:
                return 0
            cursor, handled = max(cursor, hook.retrying.seq), settled
        changes = changes_after(
            self.store,
            cursor,
            kinds=hook.kinds(),
            subjects=hook.subjects(),
            limit=self.settings.webhooks_batch,
        )
        return handled + self._deliver(hook, key, changes, cursor, latest)

    def _retry(self, hook: Webhook, waiting: Delivery, key: bytes) -> int | None:
        """Try the delivery the webhook waits on when its time has come: 1 when it is settled (delivered or
        dead-lettered; 0 when its user was forgotten meanwhile), None while it still waits."""
        if waiting.next_at is not None and waiting.next_at > datetime.now(UTC):
            return None
        if not deliveries(self.store, delivery_id=waiting.delivery_id, first=1):
            record_deliveries(self.store, hook.webhook_id, [], cursor=waiting.seq)  # forgotten: dropped
            return 0
        after = self._attempt(hook, key, waiting)
        if after.status == "retrying":
            record_deliveries(self.store, hook.webhook_id, [after], cursor=None)
            return None
        record_deliveries(self.store, hook.webhook_id, [after], cursor=waiting.seq)
        return 1

    def _deliver(self, hook: Webhook, key: bytes, changes: Sequence[Change], cursor: int, latest: int) -> int:
        """POST the changes it wants in order, up to the first failure; record them and move the cursor."""
        done: list[Delivery] = []
        for change in changes:
            if not hook.wants(change):
                cursor = change.seq
                continue
            first = self._attempt(hook, key, _new(hook, message_of(hook.webhook_id, change)))
            if first.status == "retrying":
                record_deliveries(self.store, hook.webhook_id, [*done, first], cursor=cursor)
                return len(done)
            done.append(first)
            cursor = change.seq
        if len(changes) < self.settings.webhooks_batch:
            cursor = max(cursor, latest)  # read them all: nothing else up to latest is for this webhook
        if done or cursor > hook.cursor:
            record_deliveries(self.store, hook.webhook_id, done, cursor=cursor)
        return len(done)

    def _attempt(self, hook: Webhook, key: bytes, delivery: Delivery) -> Delivery:
        """POST the delivery's message once: the delivery after that attempt (graph/webhooks/send.py)."""
        attempt = send(self.client, self.settings, hook.url, key, delivery.message)
        after = _after(delivery, attempt, self.settings.webhooks_retry_s)
        with self._stats_lock:
            if after.status == "delivered":
                self.stats.delivered += 1
            else:
                self.stats.failed_attempts += 1
                self.stats.dead += after.status == "dead"
        if not attempt.ok:
            log.warning(
                "webhook %s: delivery %s failed (%s), attempt %d, now %s",
                hook.webhook_id,
                delivery.delivery_id,
                attempt.error,
                after.attempts,
                after.status,
            )
        return after

    def prune(self) -> int:
        """Forget delivered deliveries older than ``PERSONA_WEBHOOKS_KEEP_DAYS`` (dead letters stay)."""
        before = datetime.now(UTC) - timedelta(days=self.settings.webhooks_keep_days)
        removed = 0
        while True:
            gone = self.store.write_returning(
                "webhooks/write/deliveries_prune", before=before, limit=PRUNE_BATCH
            )
            count = int(gone[0]["removed"])
            removed += count
            if count < PRUNE_BATCH:
                self.stats.pruned += removed
                return removed

    def run(self, stop: threading.Event) -> None:
        """Dispatch until ``stop`` is set: while holding the lock when there is one, backing off while
        Neo4j is away (graph/rounds.py)."""
        self.rounds.run(self._round, stop)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the event to stop it."""
        return self.rounds.start(self._round, "persona-webhooks")

    def _round(self) -> bool:
        handled = self.dispatch_once()
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            self.prune()
        return handled > 0

    def close(self) -> None:
        self.client.close()


def run_in_background(store: GraphStore, settings: Settings) -> Callable[[], None]:
    """Start a dispatcher in a daemon thread that dispatches while it holds this machine's lock (waiting
    for it otherwise); the function that stops it (api/app.py's lifespan)."""
    dispatcher = Dispatcher(store, settings, lock=FileLock(lock_path(settings)))
    thread, stop = dispatcher.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)
        dispatcher.close()

    return halt


def _new(hook: Webhook, message: Message) -> Delivery:
    """A delivery not yet attempted."""
    return Delivery(
        delivery_id=message.message_id,
        webhook_id=hook.webhook_id,
        seq=message.seq,
        type=message.type,
        user_id=message.user_id,
        body=message.body,
        status="retrying",
        attempts=0,
    )


def _after(delivery: Delivery, attempt: Attempt, schedule: Sequence[float]) -> Delivery:
    """The delivery after one more attempt: a failure waits the schedule's next wait, or is dead-lettered
    once the schedule is spent."""
    spent = delivery.attempts >= len(schedule)
    retry_in = None if spent else schedule[delivery.attempts]
    return delivery.attempted(attempt.status, attempt.error, retry_in=retry_in)


__all__ = ["DispatchStats", "Dispatcher", "lock_path", "run_in_background"]

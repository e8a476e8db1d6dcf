"""The folding worker: drains the event log into the graph in micro-batches, restart-safe.

Each round reads the log's fold cursor from Neo4j, takes the entries after it (at most
``PERSONA_EVENTS_FOLD_BATCH``) and folds them in one transaction that also moves the cursor
(graph/events/fold.py). It folds whatever is waiting at once, so under load a batch holds everything
that arrived while the last one was written (bounded by size) and an idle worker answers within
``PERSONA_EVENTS_FOLD_POLL_S`` (bounded by time). While a batch folds, a thread records the last one's
outcomes in the log and reads the next one and prepares its rows (graph/events/fold.py ``prepare_events``):
the Python and SQLite work that needs no graph overlaps Neo4j's; the next round tops that batch up with what
arrived meanwhile.

Restart-safe: the cursor moves in the fold's own transaction, so a kill at any point either left the
batch folded with its cursor or left nothing, and folding is idempotent besides. Neo4j unavailable:
the batch waits and is tried again with backoff. An entry that breaks its batch for another reason (a
poison entry) is found by folding the batch one entry at a time; it alone is rejected with the error,
the others fold.

One worker per log at a time (graph/events/journal.py FoldLock, across processes): every API process
may run one (``PERSONA_EVENTS_FOLD_IN_API``), and `persona events fold` runs one on its own; the others
wait on the lock and take over when its holder dies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from personagraph.graph.changes.log import prune_changes
from personagraph.graph.events.fold import (
    FoldReport,
    PreparedEvent,
    fold,
    fold_cursor,
    prepare_events,
    rehearse,
)
from personagraph.graph.events.journal import Entry, FoldLock, Journal, Outcome
from personagraph.graph.rounds import RETRYABLE, Rounds
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import TagCache, live_as_of, refresh_tags
from personagraph.graph.tags.rule_file import RuleSet

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 60.0
Prepared = tuple[list[Entry], dict[int, PreparedEvent]]
RENEW_AFTER = 0.5  # of the tag cache's ttl: renewed beside the folds, so no fold meets it expired


@dataclass
class WorkerStats:
    """What the worker did since it started, for /metrics and logs."""

    folded: int = 0
    rejected: int = 0
    batches: int = 0
    cursor: int = 0
    last_fold_at: float | None = None
    pruned: dict[str, int] = field(default_factory=lambda: {"entries": 0, "changes": 0})


class FoldingWorker:
    """Folds one journal into one graph; ``fold_once`` for a round, ``run`` until told to stop."""

    def __init__(
        self,
        store: GraphStore,
        journal: Journal,
        settings: Settings,
        *,
        rules: RuleSet | str | Path | None = None,
        cache: TagCache | None = None,
        suppression_key: bytes | None = None,
        lock: FoldLock | None = None,
        on_outcomes: Callable[[], None] | None = None,
        on_fold: Callable[[int, int, float], None] | None = None,
    ) -> None:
        self.store = store
        self.journal = journal
        self.settings = settings
        self.rules = rules
        self.cache = cache if cache is not None else TagCache()
        self.suppression_key = suppression_key
        self.lock = lock
        self.on_outcomes = on_outcomes  # told after each fold's outcomes are in the log (recordEvent waits)
        self.on_fold = on_fold  # told each fold's entries folded and rejected, and its seconds (metrics)
        self.rounds = Rounds(
            "folding", settings.events_fold_poll_s, lock, on_acquire=self._took_over, on_stop=self.settle
        )
        self.stats = WorkerStats()
        self._pruned_at = 0.0
        self._warmed_at: float | None = None  # when the tag cache was last filled (None: not yet)
        self._renewing: threading.Thread | None = None
        self._ahead: tuple[int, Future[Prepared]] | None = None  # (after which offset, the next batch)
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="persona-fold-ahead")
        self._cursor: int | None = None  # the fold cursor, known while this worker alone folds the log
        self._recording: Future[None] | None = None  # the last fold's outcomes, on their way to the log

    def fold_once(self) -> FoldReport:
        """Fold the entries waiting after the cursor (at most one batch); an empty report when none."""
        if self._cursor is None:  # read once, then kept: only the lock's holder moves it
            self._cursor = fold_cursor(self.store, self.journal.log_id)
        cursor = self._cursor
        self.stats.cursor = cursor
        started = time.perf_counter()
        entries, prepared = self._next_batch(cursor)
        if not entries:
            self.settle()  # nothing waits: the last fold's outcomes are in the log before this answers
            return FoldReport(last_offset=cursor)
        self._ahead = (entries[-1].offset, self._reader.submit(self._read, entries[-1].offset))
        try:
            report = self._fold(entries, prepared)
        except RETRYABLE:
            self._cursor = None  # whether the failed commit happened is unknown: read it again
            raise
        except Exception as error:
            log.warning("a batch of %d entries failed (%s); folding them one by one", len(entries), error)
            report = self._fold_one_by_one(entries, prepared)
        self.stats.folded += report.folded
        self.stats.rejected += report.rejected
        self.stats.batches += 1
        self.stats.cursor = self._cursor = report.last_offset
        self.stats.last_fold_at = time.time()
        # The outcomes go to the log in the reader's thread, beside the next fold (they only inform the
        # collector: the cursor moved in the fold's own transaction); the last fold's are in by now.
        earlier, self._recording = self._recording, self._reader.submit(self._record, report, started)
        _settled(earlier)
        return report

    def _record(self, report: FoldReport, started: float) -> None:
        self.journal.record_outcomes(report.outcomes)
        if self.on_fold is not None:  # counted before anyone waiting for this fold is woken
            self.on_fold(report.folded, report.rejected, time.perf_counter() - started)
        if self.on_outcomes is not None and report.outcomes:
            self.on_outcomes()

    def settle(self) -> None:
        """Wait until the last fold's outcomes are in the log."""
        recording, self._recording = self._recording, None
        _settled(recording)

    def _read(self, after: int, limit: int | None = None) -> Prepared:
        entries = self.journal.read(after, limit or self.settings.events_fold_batch)
        return entries, prepare_events(entries, self.settings.timezone)

    def _next_batch(self, cursor: int) -> Prepared:
        """The entries after ``cursor``: the batch read ahead during the last fold when it starts there,
        topped up with what arrived since; else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == cursor:
            entries, prepared = ahead[1].result()
            room = self.settings.events_fold_batch - len(entries)
            if entries and room > 0:
                more, more_prepared = self._read(entries[-1].offset, room)
                entries, prepared = entries + more, {**prepared, **more_prepared}
            if entries:
                return entries, prepared
        return self._read(cursor)

    def _took_over(self) -> None:
        """This process now folds the log: read the cursor afresh, and warm the tag cache."""
        self._cursor = None
        self.warm()

    def warm(self) -> None:
        """Compute what every re-evaluation reuses (the taxonomy, the rules' global values as of the
        graph's data time) and rehearse a fold (graph/events/fold.py ``rehearse``: Neo4j plans its
        statements) before the first event arrives, so that one is not slow."""
        self._fill(self.cache)
        try:
            rehearse(
                self.store,
                rules=self.rules,
                suppression_key=self.suppression_key,
                timezone=self.settings.timezone,
                cache=self.cache,
            )
        except Exception as error:  # an unplanned fold is slower, not wrong
            log.warning("could not rehearse a fold: %s", error)

    def renew_cache(self) -> None:
        """Compute the tag cache's entries afresh into a new cache and adopt them: the folds meanwhile go
        on with the current ones. A fold that met an expired entry would compute it inside its transaction
        (the rules' cut-offs read every user: seconds at 100k users), and every event waiting behind it
        would be that much later."""
        renewed = TagCache(ttl_s=self.cache.ttl_s)
        if self._fill(renewed):
            self.cache.adopt(renewed)

    def _fill(self, cache: TagCache) -> bool:
        self._warmed_at = time.monotonic()
        try:
            when = live_as_of(self.store, datetime.now(UTC), cache)
            refresh_tags(self.store, rules=self.rules, user_ids=[], as_of=when, cache=cache)
        except Exception as error:  # a cold cache is slower, not wrong
            log.warning("could not fill the tag cache: %s", error)
            return False
        return True

    def _renew_when_due(self) -> None:
        """Start a renewal in its own thread once half the cache's ttl has passed since the last fill (or
        since the first round, when the folds filled it themselves); the renewal's fill resets the clock."""
        if self._warmed_at is None:
            self._warmed_at = time.monotonic()
        if time.monotonic() - self._warmed_at < self.cache.ttl_s * RENEW_AFTER:
            return
        if self._renewing is not None and self._renewing.is_alive():
            return
        self._renewing = threading.Thread(target=self.renew_cache, name="persona-tag-cache", daemon=True)
        self._renewing.start()

    def _fold(self, entries: list[Entry], prepared: dict[int, PreparedEvent] | None = None) -> FoldReport:
        return fold(
            self.store,
            entries,
            log_id=self.journal.log_id,
            rules=self.rules,
            cache=self.cache,
            suppression_key=self.suppression_key,
            timezone=self.settings.timezone,
            prepared=prepared,
        )

    def _fold_one_by_one(self, entries: list[Entry], prepared: dict[int, PreparedEvent]) -> FoldReport:
        """Isolate a poison entry: each alone; one that still fails is rejected with its error and skipped."""
        whole = FoldReport()
        for entry in entries:
            try:
                one = self._fold([entry], prepared)
            except RETRYABLE:
                raise
            except Exception as error:
                log.error(
                    "entry %d (message %s) cannot be folded: %s",
                    entry.offset,
                    entry.envelope.message_id,
                    error,
                )
                self.store.write(
                    "events/write/fold_cursor_advance",
                    logId=self.journal.log_id,
                    offset=entry.offset,
                    at=datetime.now(UTC),
                )
                reason = f"could not be folded: {type(error).__name__}"
                one = FoldReport(
                    outcomes=[Outcome(entry.offset, "rejected", {"code": "FOLD_FAILED", "reason": reason})]
                )
            whole.outcomes += one.outcomes
            whole.users += one.users
            whole.last_offset = entry.offset
        return whole

    def prune(self) -> None:
        """Forget folded entries older than the dedupe window and changes older than the change log's."""
        now = datetime.now(UTC)
        self.stats.pruned["entries"] += self.journal.prune(
            folded_through=self.stats.cursor, older_than=now - timedelta(days=self.settings.event_dedupe_days)
        )
        self.stats.pruned["changes"] += prune_changes(
            self.store, before=now - timedelta(days=self.settings.changes_keep_days)
        )

    def run(self, stop: threading.Event) -> None:
        """Fold until ``stop`` is set: while holding the lock when one is given, backing off while Neo4j is
        away (graph/rounds.py); the last fold's outcomes are in the log when it returns."""
        self.rounds.run(self._round, stop)

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the event to stop it."""
        return self.rounds.start(self._round, "persona-fold")

    def _round(self) -> bool:
        report = self.fold_once()
        self._renew_when_due()
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
            self._pruned_at = time.monotonic()
            self.prune()
        return bool(report.outcomes)


def _settled(recording: Future[None] | None) -> None:
    """Wait for a fold's outcomes to reach the log. One that cannot is logged, not raised: its entries are
    folded (the cursor moved with them), and the folds after it go on; only a recordEvent waiting for one of
    them goes without its answer (NOT_FOLDED_YET)."""
    if recording is None:
        return
    try:
        recording.result()
    except Exception:
        log.exception("could not record a fold's outcomes in the event log; its entries are folded")


__all__ = ["FoldingWorker", "WorkerStats"]

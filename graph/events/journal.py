"""The event journal: an append-only log of accepted envelopes (graph/events/envelope.py), durable
before the collector answers, shared by the worker processes of one machine, deduplicated by messageId.

The collector appends a batch's accepted envelopes and answers once ``append`` returns; the folding
worker reads them in offset order, writes them to the graph and records each one's outcome, which
the collector can report. ``Journal`` is the interface (Kafka will implement it for more than one
machine); ``SqliteJournal`` is the embedded default, one SQLite file (``PERSONA_EVENT_LOG_PATH``,
default ``<data_dir>/events.sqlite3``, made 0600: it holds traits):

- Durable: WAL mode with ``synchronous=FULL`` (graph/sqlite_file.py), so each commit fsyncs the log;
  an ``append`` is one transaction, on disk when it returns, or not there at all.
- Ordered: offsets are SQLite's AUTOINCREMENT row ids, never reused. Writers take the write lock one at
  a time and a transaction's offsets are all above every committed one, so a reader never sees an
  offset while a lower one is still to come: reading on from the last offset read misses nothing.
- Deduplicated: ``message_id`` is UNIQUE. An envelope whose messageId is in the log already (or earlier
  in the same call) is not appended; its ``Appended`` says duplicate and gives the earlier offset.
- Pruned: ``prune`` deletes folded entries received before a time (now minus ``PERSONA_EVENT_DEDUPE_DAYS``
  is the caller's choice). A messageId received inside that window stays remembered; one pruned is no
  longer deduplicated here, which is fine: folding is idempotent (a behaviour event's id is its
  messageId, an order's lines keep their keys, a profile update writes the same values again).

``FoldLock`` lets one folding worker per journal run at a time, across processes: an flock on
``<path>.fold.lock``, which the operating system releases when its holder dies, even by kill -9.
The file must be on a local disk (WAL and flock need it: not NFS).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from personagraph.graph.events.envelope import Envelope
from personagraph.graph.file_lock import FileLock
from personagraph.graph.settings import Settings
from personagraph.graph.sqlite_file import SqliteFile

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (offset INTEGER PRIMARY KEY AUTOINCREMENT, "
    "message_id TEXT NOT NULL UNIQUE, user_id TEXT NOT NULL, received_at REAL, body TEXT NOT NULL, "
    "status TEXT, detail TEXT)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
)
_CHUNK = 500  # values per IN (...) list, well under SQLite's limit of bound parameters
T = TypeVar("T")

Status = Literal["folded", "rejected"]


@dataclass(frozen=True)
class Appended:
    """What became of the envelope at ``index`` of an ``append``: its offset, or the offset of the
    earlier entry with its messageId when ``duplicate``."""

    index: int
    offset: int | None
    duplicate: bool


@dataclass(frozen=True)
class Entry:
    """One envelope of the log at its offset."""

    offset: int
    envelope: Envelope


@dataclass(frozen=True)
class Outcome:
    """What folding made of the entry at ``offset``: folded, or rejected (``detail`` says why)."""

    offset: int
    status: Status
    detail: dict[str, Any]


class Journal(Protocol):
    """An append-only log of envelopes, durable, in offset order, deduplicated by messageId."""

    log_id: str  # random, made once with the log: offsets of another log are not offsets of this one

    def append(self, envelopes: Sequence[Envelope]) -> list[Appended]:
        """One transaction, durable when it returns; duplicates (in the log, or twice in this call)
        flagged and not appended. One ``Appended`` per envelope, ``index`` its place in ``envelopes``."""
        ...

    def read(self, after: int, limit: int) -> list[Entry]:
        """At most ``limit`` entries with an offset above ``after``, in offset order."""
        ...

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None: ...

    def outcome(self, offset: int) -> Outcome | None:
        """The entry's outcome; None while it is pending (or when there is no such entry)."""
        ...

    def outcomes(self, offsets: Sequence[int]) -> dict[int, Outcome]:
        """The outcomes of those of ``offsets`` that have one."""
        ...

    def last_offset(self) -> int:
        """The highest offset ever given (0 when nothing was ever appended)."""
        ...

    def prune(self, *, folded_through: int, older_than: datetime) -> int:
        """Delete the entries with an offset up to ``folded_through`` received before ``older_than``;
        how many. The messageIds of the rest stay remembered."""
        ...

    def close(self) -> None: ...


@dataclass
class _Pending:
    """One append call waiting for the group commit that takes it."""

    envelopes: Sequence[Envelope]
    received_at: float
    done: bool = False
    appended: list[Appended] = field(default_factory=list)
    error: BaseException | None = None


class SqliteJournal:
    """The ``Journal`` in one SQLite file, shared by the processes (and threads) of one machine.

    Appends are group-committed: while one thread of a process commits, the appends that arrive meanwhile
    queue, and the next of them commits them all in one transaction, one fsync for the lot. Each caller
    still returns only once its own envelopes are durable (or with the error that kept them out)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock: Callable[[], float] = time.time  # when an entry is received (tests move it)
        self._file = SqliteFile(path, synchronous="FULL")
        _create_private(path)
        self._group = threading.Condition()
        self._queue: list[_Pending] = []
        self._committing = False
        with self._file.write() as db:  # at start, so an unusable file stops the app before it serves
            for statement in SCHEMA:
                db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('log_id', ?)", (uuid.uuid4().hex,))
            self.log_id: str = db.execute("SELECT value FROM meta WHERE key = 'log_id'").fetchone()[0]

    def append(self, envelopes: Sequence[Envelope]) -> list[Appended]:
        mine = _Pending(envelopes, self.clock())
        with self._group:
            self._queue.append(mine)
            while self._committing and not mine.done:
                self._group.wait()
            if not mine.done:  # nobody is committing: this thread commits everything queued
                self._committing = True
                group, self._queue = self._queue, []
        if not mine.done:
            try:
                self._commit(group)
            finally:
                with self._group:
                    self._committing = False
                    self._group.notify_all()
        if mine.error is not None:
            raise mine.error
        return mine.appended

    def _commit(self, group: list[_Pending]) -> None:
        """One transaction for every queued append (in arrival order); each learns its result or error."""
        try:
            with self._file.write() as db:
                appended = self._insert(db, group)
        except BaseException as error:
            for pending in group:
                pending.error, pending.done = error, True
            return
        for pending, result in zip(group, appended, strict=True):
            pending.appended, pending.done = result, True

    @staticmethod
    def _insert(db: sqlite3.Connection, group: Sequence[_Pending]) -> list[list[Appended]]:
        """Every queued append's envelopes, in arrival order, inside the caller's write transaction: the
        messageIds already in the log looked up together, then the new entries inserted together with the
        offsets that follow the highest ever given (AUTOINCREMENT's own rule; under the write lock nobody
        else takes one meanwhile). Looking up first, an ignored duplicate uses up no offset."""
        known: dict[str, int] = {}
        wanted = sorted({e.message_id for pending in group for e in pending.envelopes})
        for chunk in _chunks(wanted):
            marks = ", ".join("?" * len(chunk))
            found = db.execute(f"SELECT message_id, offset FROM entries WHERE message_id IN ({marks})", chunk)
            known.update(found)
        offset = _highest_offset(db)
        rows: list[tuple[int, str, str, float, str]] = []
        answers: list[list[Appended]] = []
        for pending in group:
            mine: list[Appended] = []
            for index, envelope in enumerate(pending.envelopes):
                earlier = known.get(envelope.message_id)
                if earlier is not None:  # in the log, or earlier in this transaction
                    mine.append(Appended(index, earlier, duplicate=True))
                    continue
                offset += 1
                known[envelope.message_id] = offset
                rows.append(
                    (
                        offset,
                        envelope.message_id,
                        envelope.user_id,
                        pending.received_at,
                        envelope.model_dump_json(),
                    )
                )
                mine.append(Appended(index, offset, duplicate=False))
            answers.append(mine)
        db.executemany(
            "INSERT INTO entries (offset, message_id, user_id, received_at, body) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return answers

    def read(self, after: int, limit: int) -> list[Entry]:
        rows = self._file.connection().execute(
            "SELECT offset, body FROM entries WHERE offset > ? ORDER BY offset LIMIT ?", (after, limit)
        )
        return [Entry(offset, Envelope.model_validate_json(body)) for offset, body in rows]

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        with self._file.write() as db:
            db.executemany(
                "UPDATE entries SET status = ?, detail = ? WHERE offset = ?",
                [(o.status, json.dumps(o.detail), o.offset) for o in outcomes],
            )

    def outcome(self, offset: int) -> Outcome | None:
        return self.outcomes([offset]).get(offset)

    def outcomes(self, offsets: Sequence[int]) -> dict[int, Outcome]:
        found: dict[int, Outcome] = {}
        db = self._file.connection()
        for chunk in _chunks(sorted(set(offsets))):
            rows = db.execute(
                f"SELECT offset, status, detail FROM entries WHERE status IS NOT NULL "
                f"AND offset IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update(
                {offset: Outcome(offset, status, json.loads(detail)) for offset, status, detail in rows}
            )
        return found

    def last_offset(self) -> int:
        return _highest_offset(self._file.connection())

    def prune(self, *, folded_through: int, older_than: datetime) -> int:
        with self._file.write() as db:
            cursor = db.execute(
                "DELETE FROM entries WHERE offset <= ? AND received_at < ?",
                (folded_through, older_than.timestamp()),
            )
            return cursor.rowcount

    def close(self) -> None:
        self._file.close()


def open_journal(settings: Settings) -> Journal:
    """The deployment's journal: the SQLite file of ``PERSONA_EVENT_LOG_PATH``."""
    return SqliteJournal(settings.event_log_file)


class FoldLock(FileLock):
    """At most one folding worker per journal, across processes: the file lock (graph/file_lock.py) on
    ``<journal path>.fold.lock``, which the operating system releases when its holder dies, even by kill -9,
    so a dead worker never keeps the others out."""

    def __init__(self, journal_path: Path) -> None:
        super().__init__(journal_path.with_name(journal_path.name + ".fold.lock"))


def _create_private(path: Path) -> None:
    """Create the file owner-only before SQLite opens it (SQLite gives its -wal and -shm files the
    database file's mode): the journal holds personal data."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


def _highest_offset(db: sqlite3.Connection) -> int:
    """The highest offset ever given (0: none yet). sqlite_sequence keeps it, also once its entry is
    pruned, and AUTOINCREMENT takes the next offset after it, also for a row inserted with its own."""
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
    return 0 if row is None else int(row[0])


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


__all__ = [
    "Appended",
    "Entry",
    "FoldLock",
    "Journal",
    "Outcome",
    "SqliteJournal",
    "open_journal",
]

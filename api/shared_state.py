"""The API state every worker process of one server shares, in one SQLite file
(``PERSONA_API_STATE_PATH``, default ``<data_dir>/api-state.sqlite3``): the token buckets of the rate
limit, of the per-IP auth-failure limit and of the count budget, the count budget's memory of the
questions it answered and when it last reported a refusal.

Without it each of `persona serve --workers N`'s processes kept its own buckets, so a key got N times
its rate and N times its count budget. Every change is one ``BEGIN IMMEDIATE`` transaction (the
database's write lock: no two processes read the same bucket and both take its last token), in WAL
mode with ``synchronous=NORMAL`` (a commit writes to the log without waiting for the disk; a power cut
may lose the last moments of spending, never corrupt the file) and a busy timeout, as
graph/sqlite_file.py opens it. Each thread has its own connection (the event loop and the worker
threads both call in). Times are wall-clock seconds (``time.time``), the one clock every process
shares and that survives a restart, so a restart no longer refills the budgets. Rows of full buckets
and of spent reports are the same as no row and are deleted every minute; the answered questions are
capped at ``REMEMBERED``, the oldest forgotten first.

The file must be on a local disk (WAL needs shared memory between the processes: not NFS).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from personagraph.api.rate_limiter import REMEMBERED, SWEEP_S, full_at, refill
from personagraph.graph.sqlite_file import BUSY_TIMEOUT_S, SqliteFile

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bucket (name TEXT NOT NULL, key TEXT NOT NULL, tokens REAL NOT NULL, "
    "at REAL NOT NULL, full_at REAL NOT NULL, PRIMARY KEY (name, key)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS bucket_full_at ON bucket (full_at)",
    "CREATE TABLE IF NOT EXISTS answered (question BLOB PRIMARY KEY, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS answered_at ON answered (at)",
    "CREATE TABLE IF NOT EXISTS reported (name TEXT NOT NULL, key TEXT NOT NULL, until REAL NOT NULL, "
    "PRIMARY KEY (name, key)) WITHOUT ROWID",
)


class SqliteBuckets:
    """``Buckets`` (api/rate_limiter.py) in a SQLite file shared by processes: each step one transaction."""

    def __init__(
        self, path: Path, remembered: int = REMEMBERED, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.path = path
        self.clock: Callable[[], float] = time.time
        self.remembered = remembered
        self._file = SqliteFile(path, synchronous="NORMAL", busy_timeout_s=busy_timeout_s)
        self._swept: float | None = None
        with self._write() as db:  # at start, so an unusable file stops the app before it serves
            for statement in SCHEMA:
                db.execute(statement)

    def take(self, name: str, key: str, capacity: float, rate: float, now: float, *, spend: bool) -> float:
        if not spend:  # a read: no write lock, the last committed state
            row = (
                self._connection()
                .execute("SELECT tokens, at FROM bucket WHERE name = ? AND key = ?", (name, key))
                .fetchone()
            )
            tokens = capacity if row is None else refill(row[0], row[1], now, capacity, rate)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate
        with self._write(now) as db:
            return self._take(db, name, key, capacity, rate, now)

    def take_once(
        self, name: str, key: str, question: bytes, capacity: float, rate: float, now: float
    ) -> float:
        with self._write(now) as db:
            seen = db.execute("UPDATE answered SET at = ? WHERE question = ?", (now, question)).rowcount
            if seen:
                return 0.0
            wait = self._take(db, name, key, capacity, rate, now)
            if wait == 0:
                db.execute("INSERT INTO answered (question, at) VALUES (?, ?)", (question, now))
            return wait

    def first_report(self, name: str, key: str, now: float, every_s: float) -> bool:
        with self._write(now) as db:
            row = db.execute("SELECT until FROM reported WHERE name = ? AND key = ?", (name, key)).fetchone()
            if row is not None and row[0] > now:
                return False
            db.execute(
                "INSERT INTO reported (name, key, until) VALUES (?, ?, ?) "
                "ON CONFLICT (name, key) DO UPDATE SET until = excluded.until",
                (name, key, now + every_s),
            )
            return True

    def rows(self) -> dict[str, int]:
        """How many rows each table holds (tests, and a look at a live server's file)."""
        db = self._connection()
        return {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("bucket", "answered", "reported")
        }

    def sweep(self, now: float) -> None:
        """Delete the rows that are the same as none: full buckets, spent reports, answers past the cap."""
        with self._write() as db:
            self._sweep(db, now)

    @staticmethod
    def _take(db: sqlite3.Connection, name: str, key: str, capacity: float, rate: float, now: float) -> float:
        row = db.execute("SELECT tokens, at FROM bucket WHERE name = ? AND key = ?", (name, key)).fetchone()
        tokens = capacity if row is None else refill(row[0], row[1], now, capacity, rate)
        if tokens < 1.0:
            return (1.0 - tokens) / rate
        tokens -= 1.0
        db.execute(
            "INSERT INTO bucket (name, key, tokens, at, full_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name, key) DO UPDATE SET tokens = excluded.tokens, at = excluded.at, "
            "full_at = excluded.full_at",
            (name, key, tokens, now, full_at(tokens, now, capacity, rate)),
        )
        return 0.0

    def _sweep(self, db: sqlite3.Connection, now: float) -> None:
        db.execute("DELETE FROM bucket WHERE full_at <= ?", (now,))
        db.execute("DELETE FROM reported WHERE until <= ?", (now,))
        over = db.execute("SELECT count(*) FROM answered").fetchone()[0] - self.remembered
        if over > 0:
            db.execute(
                "DELETE FROM answered WHERE question IN (SELECT question FROM answered ORDER BY at LIMIT ?)",
                (over,),
            )
        self._swept = now

    @contextmanager
    def _write(self, now: float | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction (graph/sqlite_file.py ``SqliteFile.write``: the write lock first,
        waiting up to the busy timeout); every minute it sweeps first."""
        with self._file.write() as db:
            if now is not None and (self._swept is None or now - self._swept >= SWEEP_S):
                self._sweep(db, now)
            yield db

    def _connection(self) -> sqlite3.Connection:
        return self._file.connection()

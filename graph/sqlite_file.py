"""A SQLite file that the processes of one machine share: WAL mode, a busy timeout, one connection per
thread, and write transactions that take the write lock first.

The API's shared state (api/shared_state.py) and the event journal (graph/events/journal.py) both keep
a file like this; they differ in ``synchronous``: NORMAL lets a commit return before the disk has the
log (a power cut may lose the last moments, never corrupt the file), FULL fsyncs the log at each commit
(what is committed survives a power cut). Each thread gets its own connection (sqlite3 connections are
not for sharing between threads), opened again in a forked child (connections do not survive a fork).
The file must be on a local disk: WAL needs memory shared between the processes, which NFS does not
give.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

BUSY_TIMEOUT_S = 10.0

Synchronous = Literal["NORMAL", "FULL"]


class SqliteFile:
    """One SQLite file in WAL mode with a connection per thread; ``write()`` is one transaction."""

    def __init__(
        self, path: Path, *, synchronous: Synchronous, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.path = path
        self.synchronous = synchronous
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        path.parent.mkdir(parents=True, exist_ok=True)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again in a forked child)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None or self._local.pid != os.getpid():
            db = self._open()
            self._local.db, self._local.pid = db, os.getpid()
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` (the write lock first, waiting up to the busy
        timeout, so no two processes read a row and both change it), committed at the end, rolled back
        on an error."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this object opened in this process, whichever thread opened it."""
        with self._lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()
        self._local = threading.local()

    def _journal_mode_wal(self, db: sqlite3.Connection) -> str:
        """Turn the file to WAL (a no-op once it is). SQLite answers "database is locked" at once, busy
        timeout or not, when another process is turning a new file to WAL at the same moment (as the
        workers of `persona serve` do at start): retried until the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                return str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _open(self) -> sqlite3.Connection:
        # check_same_thread=False only so that close() may close every thread's connection; each
        # connection is used by the thread that opened it alone.
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        if self._journal_mode_wal(db) != "wal":
            db.close()
            raise RuntimeError(f"{self.path}: SQLite refused WAL mode (is it on a local disk?)")
        db.execute(f"PRAGMA synchronous = {self.synchronous}")
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's connections are not ours to close
                self._opened, self._pid = [], os.getpid()
            self._opened.append(db)
        return db

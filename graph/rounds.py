"""Work done in rounds by a background thread, one holder per machine: the folding worker
(graph/events/worker.py) and the webhook dispatcher (graph/webhooks/dispatcher.py).

With a lock (graph/file_lock.py), only its holder works: a process that cannot take it tries again every
second, so another takes over within a second when the holder dies. Neo4j away (or a transaction timed
out): the round is tried again after a backoff that doubles up to ``MAX_BACKOFF_S``; any other error is
logged with its trace and the round tried again after ``MAX_BACKOFF_S``. A round that found nothing to do
waits ``poll_s`` before the next; a busy one is followed at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

from personagraph.graph.errors import QueryTimeoutError

log = logging.getLogger(__name__)
RETRYABLE = (ServiceUnavailable, SessionExpired, TransientError, QueryTimeoutError, OSError)
MAX_BACKOFF_S = 5.0


class Lock(Protocol):
    """A lock held across processes (graph/file_lock.py ``FileLock``)."""

    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


@dataclass
class Rounds:
    """Runs one kind of round until stopped; ``name`` says what in logs ("folding", "webhooks")."""

    name: str
    poll_s: float
    lock: Lock | None = None
    failures: int = 0
    holding_lock: bool = False
    on_acquire: Callable[[], None] | None = None  # called each time this process takes the lock
    on_stop: Callable[[], None] | None = None  # called once ``run`` is told to stop, before the lock goes

    def run(self, one_round: Callable[[], bool], stop: threading.Event) -> None:
        """Call ``one_round`` (True when it did something) until ``stop`` is set, as the module says."""
        backoff = self.poll_s
        while not stop.is_set():
            if not self._hold_lock():
                stop.wait(1.0)  # another process holds it; take over when it is gone
                continue
            try:
                busy = one_round()
            except RETRYABLE as error:
                self.failures += 1
                log.warning("%s paused: %s; retrying in %.1f s", self.name, error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            except Exception:
                self.failures += 1
                log.exception("%s failed; retrying in %.1f s", self.name, MAX_BACKOFF_S)
                stop.wait(MAX_BACKOFF_S)
                continue
            backoff = self.poll_s
            if not busy:
                stop.wait(self.poll_s)
        if self.on_stop is not None:
            self.on_stop()
        self._release_lock()

    def start(
        self, one_round: Callable[[], bool], thread_name: str
    ) -> tuple[threading.Thread, threading.Event]:
        """``run`` in a daemon thread; set the event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(one_round, stop), name=thread_name, daemon=True)
        thread.start()
        return thread, stop

    def _hold_lock(self) -> bool:
        if self.lock is None or self.holding_lock:
            return True
        self.holding_lock = self.lock.try_acquire()
        if self.holding_lock:
            log.info("%s: this process holds the lock", self.name)
            if self.on_acquire is not None:
                self.on_acquire()
        return self.holding_lock

    def _release_lock(self) -> None:
        if self.lock is not None and self.holding_lock:
            self.lock.release()
            self.holding_lock = False


__all__ = ["MAX_BACKOFF_S", "RETRYABLE", "Lock", "Rounds"]

"""Token buckets, one per key: the API's request rate limit (api/http_limits.py), the per-IP limit on
failed authentications (api/auth.py) and the daily count budget (api/counts.py), kept in a ``Buckets``
store: in memory for one process (``MemoryBuckets``), or in a SQLite file every worker process of a
server shares (api/shared_state.py ``SqliteBuckets``, what the app uses)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

REMEMBERED = 200_000  # questions remembered across keys; the oldest are charged again when forgotten
SWEEP_S = 60.0  # how often idle keys (full buckets) and spent reports are dropped


def refill(tokens: float, then: float, now: float, capacity: float, rate: float) -> float:
    """A bucket's tokens at ``now``, from ``tokens`` at ``then`` (a clock going back refills nothing)."""
    return min(capacity, tokens + max(now - then, 0.0) * rate)


def full_at(tokens: float, now: float, capacity: float, rate: float) -> float:
    """When a bucket with ``tokens`` at ``now`` is full again: from then on it is the same as no bucket."""
    return now + (capacity - tokens) / rate


class Buckets(Protocol):
    """Where token buckets live. Every method is one atomic step (threads and, for a shared store,
    processes may call them at once); ``now`` is the caller's clock, the same clock for one store."""

    clock: Callable[[], float]

    def take(self, name: str, key: str, capacity: float, rate: float, now: float, *, spend: bool) -> float:
        """0 when bucket ``(name, key)`` has a token now (taken when ``spend``), else seconds to wait."""
        ...

    def take_once(
        self, name: str, key: str, question: bytes, capacity: float, rate: float, now: float
    ) -> float:
        """Like ``take`` with ``spend``, except that a ``question`` answered before (a token was taken for
        it) is free: 0 without a token."""
        ...

    def first_report(self, name: str, key: str, now: float, every_s: float) -> bool:
        """True at most once per ``every_s`` seconds for ``(name, key)``."""
        ...


class MemoryBuckets:
    """``Buckets`` in this process's memory (``time.monotonic``): what one process alone may use."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self.clock: Callable[[], float] = time.monotonic
        self.remembered = remembered
        self._buckets: dict[tuple[str, str], tuple[float, float, float]] = {}  # -> (tokens, at, full at)
        self._answered: OrderedDict[bytes, None] = OrderedDict()
        self._reported: dict[tuple[str, str], float] = {}  # -> until when refusals are not reported
        self._swept: float | None = None
        self._lock = threading.Lock()

    def take(self, name: str, key: str, capacity: float, rate: float, now: float, *, spend: bool) -> float:
        with self._lock:
            return self._take(name, key, capacity, rate, now, spend)

    def take_once(
        self, name: str, key: str, question: bytes, capacity: float, rate: float, now: float
    ) -> float:
        with self._lock:
            if question in self._answered:
                self._answered.move_to_end(question)
                return 0.0
            wait = self._take(name, key, capacity, rate, now, True)
            if wait == 0:
                self._answered[question] = None
                if len(self._answered) > self.remembered:
                    self._answered.popitem(last=False)
            return wait

    def first_report(self, name: str, key: str, now: float, every_s: float) -> bool:
        with self._lock:
            if self._reported.get((name, key), now) > now:
                return False
            self._reported[(name, key)] = now + every_s
            return True

    def _take(self, name: str, key: str, capacity: float, rate: float, now: float, spend: bool) -> float:
        if self._swept is None or now - self._swept >= SWEEP_S:
            self._buckets = {k: v for k, v in self._buckets.items() if v[2] > now}
            self._reported = {k: v for k, v in self._reported.items() if v > now}
            self._swept = now
        found = self._buckets.get((name, key))
        tokens = capacity if found is None else refill(found[0], found[1], now, capacity, rate)
        if tokens < 1.0:
            return (1.0 - tokens) / rate
        if spend:
            tokens -= 1.0
            self._buckets[(name, key)] = (tokens, now, full_at(tokens, now, capacity, rate))
        return 0.0


class RateLimiter:
    """Token buckets, one per key: ``per_period`` tokens in a burst, refilled at ``per_period`` per
    ``period_s`` seconds (a minute unless told), kept in ``buckets`` under ``name`` (a store of its own
    in memory unless given: per process). Idle keys (full buckets) are dropped every minute."""

    def __init__(
        self,
        per_period: int,
        clock: Callable[[], float] | None = None,
        *,
        period_s: float = 60.0,
        buckets: Buckets | None = None,
        name: str = "rate",
    ) -> None:
        self.capacity = float(per_period)
        self.rate = per_period / period_s  # tokens a second
        self.buckets: Buckets = buckets if buckets is not None else MemoryBuckets()
        self.clock = clock or self.buckets.clock
        self.name = name

    def acquire(self, key: str) -> float:
        """0 when the request may go ahead (a token is taken), else the seconds until one is back."""
        return self.buckets.take(self.name, key, self.capacity, self.rate, self.clock(), spend=True)

    def wait(self, key: str) -> float:
        """Like ``acquire`` but takes no token: 0 when ``key`` has one now, else the seconds until it does."""
        return self.buckets.take(self.name, key, self.capacity, self.rate, self.clock(), spend=False)

    def acquire_once(self, key: str, question: bytes) -> float:
        """Like ``acquire``, but free for a ``question`` a token was taken for before (in this store)."""
        return self.buckets.take_once(self.name, key, question, self.capacity, self.rate, self.clock())

"""Token buckets, one per key, in memory: the API's request rate limit (api/http_limits.py), the
per-IP limit on failed authentications (api/auth.py) and the daily count budget (api/counts.py)."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets, one per key: ``per_period`` tokens in a burst, refilled at ``per_period`` per
    ``period_s`` seconds (a minute unless told). In memory, per process; idle keys (full buckets) are
    dropped every minute."""

    SWEEP_S = 60.0

    def __init__(
        self, per_period: int, clock: Callable[[], float] = time.monotonic, *, period_s: float = 60.0
    ) -> None:
        self.capacity = float(per_period)
        self.rate = per_period / period_s  # tokens a second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._swept = clock()

    def acquire(self, key: str) -> float:
        """0 when the request may go ahead (a token is taken), else the seconds until one is back."""
        now = self.clock()
        if now - self._swept >= self.SWEEP_S:
            self._sweep(now)
        tokens, then = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + max(now - then, 0.0) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """Like ``acquire`` but takes no token: 0 when ``key`` has one now, else the seconds until it does."""
        now = self.clock()
        tokens, then = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + max(now - then, 0.0) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _sweep(self, now: float) -> None:
        full_after = self.capacity / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._swept = now

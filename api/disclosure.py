"""How many users a caller may be told about: exact for admin; for every other role a k-anonymity
floor, rounding and sticky noise.

- **Floor**: a count under ``k`` (``PERSONA_PRIVACY_K``, default 100, the smallest list ad platforms
  such as Google Ads will target) is shown as "fewer than k" (``value: null, fewerThan: k``); such an
  audience's members and look-alikes are not listed, and breakdown buckets under it are merged into
  one ``grouped`` bucket (their values are not shown either: a value is itself a fact about someone).
- **Differencing**: ``count(A) - count(A and not x)`` would say whether x is in A. Counts shown to
  roles below admin are moved by a deterministic noise of up to ``PERSONA_PRIVACY_NOISE`` users and
  rounded to ``PERSONA_PRIVACY_ROUND_TO``. The noise is keyed by the server's secret and by *what was
  asked* (the canonical definition, purpose and which count), so asking again gives the same answer
  (no averaging by repetition), while ``A`` and ``A and not x`` get independent noise whether or not
  x is in A: their difference is mostly noise. The floor applies to the noisy value, so the edge at
  ``k`` is blurred as well (a count just above k may be reported as "fewer than k").
- **Budget**: averaging many differently worded definitions of the same pair of audiences still
  recovers a difference (measured by bench/privacy.py, docs/security.md). ``CountBudget`` caps how many
  counts a key below admin is shown an hour, which sets the pace of that attack.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable

import strawberry

from api.limits import RateLimiter
from api.policy import ADMIN, PolicyError, Role
from graph.secrets import derived_key
from graph.settings import Settings


@strawberry.type(
    description="A number of users as the caller may see it: exact for admins; rounded, with a little "
    "noise, and hidden under the k-anonymity floor for other roles (docs/security.md)."
)
class Count:
    value: int | None = strawberry.field(description="The count; null when it is under the floor.")
    fewer_than: int | None = strawberry.field(description="The floor, when the count is under it.")
    exact: bool = strawberry.field(description="True when `value` is the exact number.")


class CountBudget:
    """How many counts each key below admin is shown an hour (``PERSONA_PRIVACY_COUNT_BUDGET``), per
    process: a token bucket (api/limits.py RateLimiter) charged one per count shown."""

    REPORT_EVERY_S = 60.0

    def __init__(self, per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_hour = per_hour
        self.clock = clock
        self.limiter = RateLimiter(per_hour, clock, period_s=3600.0)
        self._reported: dict[str, float] = {}

    def spend(self, key: str) -> float:
        """0 when one more count may be shown to ``key`` (and it is charged), else seconds to wait."""
        return self.limiter.acquire(key)

    def first_refusal(self, key: str) -> bool:
        """True at most once a minute per key: refusals worth an audit entry (not one per refused count,
        which a client hammering a spent budget could turn into a flood)."""
        now = self.clock()
        if now - self._reported.get(key, -self.REPORT_EVERY_S) < self.REPORT_EVERY_S:
            return False
        self._reported[key] = now
        return True


class CountBudgetError(PolicyError):
    """The caller's key has been shown as many counts as it may this hour (api/context.py)."""

    code = "RATE_LIMITED"


class Disclosure:
    """The floor, noise and rounding of one deployment."""

    def __init__(self, key: bytes, *, k: int, noise: int, round_to: int) -> None:
        self.key = key
        self.k = k
        self.noise = noise
        self.round_to = round_to

    @classmethod
    def from_settings(cls, settings: Settings) -> Disclosure:
        return cls(
            derived_key(settings, "count-noise"),
            k=settings.privacy_k,
            noise=settings.privacy_noise,
            round_to=settings.privacy_round_to,
        )

    def shown(self, role: Role, n: int, *asked: str) -> int | None:
        """The number ``role`` is shown for a true count ``n`` (None: under the floor)."""
        if role == ADMIN:
            return n
        if n < self.k:
            return None
        noisy = n + self._noise(asked)
        value = self.round_to * math.floor(noisy / self.round_to + 0.5)
        return value if value >= self.k else None

    def count(self, role: Role, n: int, *asked: str) -> Count:
        """``shown`` as the GraphQL type."""
        value = self.shown(role, n, *asked)
        if value is None:
            return Count(value=None, fewer_than=self.k, exact=False)
        return Count(value=value, fewer_than=None, exact=role == ADMIN)

    def _noise(self, asked: tuple[str, ...]) -> int:
        if not self.noise:
            return 0
        digest = hmac.new(self.key, "\x1f".join(asked).encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % (2 * self.noise + 1) - self.noise

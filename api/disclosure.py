"""How many users a caller may be told about: exact for admin; for every other role a k-anonymity
floor, rounding and sticky noise, and a daily budget of counts.

- **Noise, then the floor**: a true count ``n`` is moved by a deterministic discrete-Laplace noise of
  scale ``PERSONA_PRIVACY_NOISE`` users (``_noise``: no hard edge), rounded to
  ``PERSONA_PRIVACY_ROUND_TO``, and only then compared with ``k`` (``PERSONA_PRIVACY_K``, default
  100, the smallest list ad platforms such as Google Ads will target): under it, the count is shown
  as "fewer than k" (``value: null, fewerThan: k``). The floor sees the noisy value only, so whether
  a count is shown does not tell which side of k the true count is on (a floor tested before the
  noise did: ``ranks 1..99 or (rank R and tag x)`` answered "null" or "a number" by one person's
  tag). Such an audience's members and look-alikes are not listed, and breakdown buckets under the
  floor are merged into one ``grouped`` bucket.
- **Differencing**: ``count(A) - count(A and not x)`` would say whether x is in A. The noise is keyed
  by the server's secret and by *what was asked* (the canonical definition, purpose and which count),
  so asking again gives the same answer (no averaging by repetition), while ``A`` and ``A and not x``
  get independent noise whether or not x is in A: their difference is mostly noise.
- **Budget**: averaging many differently worded definitions of the same pair of audiences still
  recovers a difference (measured by bench/privacy.py, docs/security.md). ``CountBudget`` caps how many
  *different* questions a key below admin is answered a day, which sets the pace of that attack;
  asking a question again is free, since its answer cannot change.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import strawberry

from personagraph.api.rate_limiter import RateLimiter
from personagraph.api.policy import ADMIN, PolicyError, Role
from personagraph.graph.secrets import derived_key
from personagraph.graph.settings import Settings


@strawberry.type(
    description="A number of users as the caller may see it: exact for admins; rounded, with a little "
    "noise, and hidden under the k-anonymity floor for other roles (docs/security.md)."
)
class Count:
    value: int | None = strawberry.field(description="The count; null when it is under the floor.")
    fewer_than: int | None = strawberry.field(description="The floor, when the count is under it.")
    exact: bool = strawberry.field(description="True when `value` is the exact number.")


class CountBudget:
    """How many different counts each key below admin is shown a day (``PERSONA_PRIVACY_COUNT_BUDGET``),
    per process: a token bucket (api/rate_limiter.py RateLimiter) charged one per count shown, except a count
    the key was already shown (the same question has the same answer: asking again teaches nothing)."""

    PERIOD_S = 86_400.0
    REPORT_EVERY_S = 60.0
    REMEMBERED = 200_000  # questions remembered across keys; the oldest are charged again when forgotten

    def __init__(self, per_day: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_day = per_day
        self.clock = clock
        self.limiter = RateLimiter(per_day, clock, period_s=self.PERIOD_S)
        self._reported: dict[str, float] = {}
        self._answered: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def spend(self, key: str, asked: tuple[str, ...] = ()) -> float:
        """0 when one more count may be shown to ``key`` (and it is charged, unless ``key`` was shown
        this very question before), else seconds to wait."""
        question = hashlib.sha256("\x1f".join((key, *asked)).encode("utf-8")).digest() if asked else None
        with self._lock:
            if question is not None and question in self._answered:
                self._answered.move_to_end(question)
                return 0.0
            wait = self.limiter.acquire(key)
            if wait == 0 and question is not None:
                self._answered[question] = None
                if len(self._answered) > self.REMEMBERED:
                    self._answered.popitem(last=False)
            return wait

    def first_refusal(self, key: str) -> bool:
        """True at most once a minute per key: refusals worth an audit entry (not one per refused count,
        which a client hammering a spent budget could turn into a flood)."""
        now = self.clock()
        if now - self._reported.get(key, -self.REPORT_EVERY_S) < self.REPORT_EVERY_S:
            return False
        self._reported[key] = now
        return True


class CountBudgetError(PolicyError):
    """The caller's key has been shown as many different counts as it may today (api/context.py)."""

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
        """A two-sided geometric (discrete Laplace) draw of scale ``noise``, fixed by what was asked.

        Its support has no edge: every shown value can come from a true count of n and of n + 1, with
        likelihoods at most e^(1/noise) apart. (Uniform noise of +-N had an edge: a count of 94 never
        showed above 110 and one of 95 could show 120, so one answer of 120 proved the 95th person.)
        """
        if not self.noise:
            return 0
        digest = hmac.new(self.key, "\x1f".join(asked).encode("utf-8"), hashlib.sha256).digest()
        # Two uniforms in (0, 1] give two geometric counts with P(G >= g) = exp(-g / noise).
        up, down = ((int.from_bytes(digest[i : i + 8], "big") + 1) / 2.0**64 for i in (0, 8))
        return math.floor(-self.noise * math.log(up)) - math.floor(-self.noise * math.log(down))

"""Counts as the API shows them: exact for admin; for every other role through the deployment's
k-anonymity ``Disclosure`` (graph/privacy/k_anonymity.py: floor, rounding, sticky noise), and within a
daily budget of counts per key.

Averaging many differently worded definitions of the same pair of audiences still recovers a difference
(measured by bench/privacy.py, docs/security.md). ``CountBudget`` caps how many *different* questions a
key below admin is answered a day, which sets the pace of that attack; asking a question again is free,
since its answer cannot change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import strawberry

from personagraph.api.policy import ADMIN, PolicyError, Role
from personagraph.api.rate_limiter import Buckets, RateLimiter
from personagraph.graph.privacy.k_anonymity import Disclosure


@strawberry.type(
    description="A number of users as the caller may see it: exact for admins; rounded, with a little "
    "noise, and hidden under the k-anonymity floor for other roles (docs/security.md)."
)
class Count:
    value: int | None = strawberry.field(description="The count; null when it is under the floor.")
    fewer_than: int | None = strawberry.field(description="The floor, when the count is under it.")
    exact: bool = strawberry.field(description="True when `value` is the exact number.")


class CountBudget:
    """How many different counts each key below admin is shown a day (``PERSONA_PRIVACY_COUNT_BUDGET``):
    a token bucket (api/rate_limiter.py RateLimiter) charged one per count shown, except a count the key
    was already shown (the same question has the same answer: asking again teaches nothing). The app keeps
    the buckets, the questions answered and the refusals reported in the state file every worker process
    shares (api/shared_state.py), so N workers still allow one budget; without ``buckets``, in memory."""

    PERIOD_S = 86_400.0
    REPORT_EVERY_S = 60.0

    def __init__(
        self, per_day: int, clock: Callable[[], float] | None = None, buckets: Buckets | None = None
    ) -> None:
        self.per_day = per_day
        self.limiter = RateLimiter(per_day, clock, period_s=self.PERIOD_S, buckets=buckets, name="count")

    @property
    def clock(self) -> Callable[[], float]:
        return self.limiter.clock

    def spend(self, key: str, asked: tuple[str, ...] = ()) -> float:
        """0 when one more count may be shown to ``key`` (and it is charged, unless ``key`` was shown
        this very question before), else seconds to wait."""
        if not asked:
            return self.limiter.acquire(key)
        question = hashlib.sha256("\x1f".join((key, *asked)).encode("utf-8")).digest()
        return self.limiter.acquire_once(key, question)

    def first_refusal(self, key: str) -> bool:
        """True at most once a minute per key: refusals worth an audit entry (not one per refused count,
        which a client hammering a spent budget could turn into a flood)."""
        return self.limiter.buckets.first_report("count", key, self.clock(), self.REPORT_EVERY_S)


class CountBudgetError(PolicyError):
    """The caller's key has been shown as many different counts as it may today (api/context.py)."""

    code = "RATE_LIMITED"


def shown_count(disclosure: Disclosure, role: Role, n: int, *asked: str) -> Count:
    """The true count ``n`` as ``role`` is shown it, as the GraphQL type: exact for admin, else through
    the floor, rounding and noise of ``disclosure``."""
    exact = role == ADMIN
    value = disclosure.shown(n, *asked, exact=exact)
    if value is None:
        return Count(value=None, fewer_than=disclosure.k, exact=False)
    return Count(value=value, fewer_than=None, exact=exact)

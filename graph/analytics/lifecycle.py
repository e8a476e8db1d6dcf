"""Lifecycle tiers of every user, from RFM scores and order dates.

An ordered rule list: the first rule a user meets is the tier, the last always matches, so every
user gets exactly one. Days count back from ``as_of`` (default: the latest order or behaviour event
in the graph, :mod:`graph.as_of`, the same default rule tags use, so historic or generated data
works); "first seen" is the earlier of the acquisition time and the first order.
1. ``new``: first seen within ``new_days`` (30) of as_of.
2. ``prospect``: never ordered.
3. ``dormant``: R <= 2, or the last order more than ``dormant_days`` (365) before as_of.
4. ``core``: R >= 4, F >= 4 and M >= 4.
5. ``loyal``: F >= 4 (and R >= 3, implied by rule 3).
6. ``potential``: R >= 4 and F <= 2.
7. ``occasional``: everyone else (buyers with R >= 3 who are neither frequent nor new-ish).

A segment run (:mod:`graph.analytics.segments`) writes them with the RFM scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from personagraph.graph.analytics.rfm import Mask, Rfm, Scores
from personagraph.graph.analytics.user_features import UserOrders

DAY = 86_400.0
NEW_DAYS = 30
DORMANT_DAYS = 365


@dataclass(frozen=True)
class TierInputs:
    """What the tier rules look at, per user."""

    rfm: Rfm
    orders: Scores
    days_since_first_seen: npt.NDArray[np.float64]  # NaN when neither acquisition nor an order is known
    days_since_last_order: npt.NDArray[np.float64]  # NaN for non-buyers
    new_days: float
    dormant_days: float


Rule = tuple[str, Callable[[TierInputs], Mask]]
TIER_RULES: tuple[Rule, ...] = (
    ("new", lambda t: t.days_since_first_seen <= t.new_days),
    ("prospect", lambda t: t.orders == 0),
    ("dormant", lambda t: (t.rfm.r <= 2) | (t.days_since_last_order > t.dormant_days)),
    ("core", lambda t: (t.rfm.r >= 4) & (t.rfm.f >= 4) & (t.rfm.m >= 4)),
    ("loyal", lambda t: (t.rfm.f >= 4) & (t.rfm.r >= 3)),
    ("potential", lambda t: (t.rfm.r >= 4) & (t.rfm.f <= 2)),
    ("occasional", lambda t: np.ones(t.orders.size, dtype=np.bool_)),
)
TIERS = tuple(name for name, _ in TIER_RULES)


def tier_inputs(
    orders: UserOrders,
    rfm: Rfm,
    as_of: datetime,
    *,
    new_days: float = NEW_DAYS,
    dormant_days: float = DORMANT_DAYS,
) -> TierInputs:
    """Days since first seen and since the last order, counted back from ``as_of``."""
    now = as_of.timestamp()
    first_seen = np.fmin(orders.first_order_at, orders.acquired_at)
    return TierInputs(
        rfm=rfm,
        orders=orders.orders,
        days_since_first_seen=(now - first_seen) / DAY,
        days_since_last_order=(now - orders.last_order_at) / DAY,
        new_days=new_days,
        dormant_days=dormant_days,
    )


def assign_tiers(inputs: TierInputs) -> npt.NDArray[np.str_]:
    """The first rule of TIER_RULES each user meets (comparisons with NaN are false)."""
    with np.errstate(invalid="ignore"):
        conditions = [rule(inputs) for _, rule in TIER_RULES]
    return np.select(conditions, np.asarray(TIERS), default=TIERS[-1])

"""RFM scores of every user: recency, frequency and monetary quintiles over buyers.

Over buyers, users with at least one order; everyone else scores 0/0/0:
- R ranks the time of the last order (most recent = 5), F the number of orders, M the spend
  (sum of quantity x unitPrice of all order lines).
- score = 1 + floor(5 x (buyers with a strictly smaller value) / buyers): exact quintiles when
  values are distinct, and equal values always get equal scores (so with many one-order buyers,
  F jumps from 1 straight to a higher score). For R, ties share the *best* score instead,
  1 + floor(5 x (buyers with a value <= it, less one) / buyers): buyers tied at the latest order
  time are as recent as anyone can be (all orders on one date: every buyer R 5, not 1). F and M
  keep the lowest: one-order buyers stay F 1 however many they are, spend 0 stays M 1.
- ``rfmScore`` is the three digits, e.g. '545'; non-buyers have '000'.

A segment run (:mod:`graph.analytics.segments`) writes them with the lifecycle tiers; personas
(:mod:`graph.analytics.personas`) cluster on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from personagraph.graph.analytics.user_features import UserOrders

Scores = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Rfm:
    """R, F and M scores (0 for non-buyers, else 1-5) aligned with the projected users."""

    r: Scores
    f: Scores
    m: Scores

    def codes(self) -> list[str]:
        """The three digits per user, as stored in rfmScore."""
        return [
            f"{r}{f}{m}" for r, f, m in zip(self.r.tolist(), self.f.tolist(), self.m.tolist(), strict=True)
        ]


def quintile_scores(
    values: npt.NDArray[np.float64], buyers: Mask, *, ties: Literal["low", "high"] = "low"
) -> Scores:
    """1 + floor(5 x share of buyers below), over buyers; non-buyers score 0.

    ``ties='low'``: equal values share the lowest score of their group (buyers strictly below);
    ``ties='high'``: the best (buyers at or below, less one), so a value everyone shares scores 5.
    With distinct values both are the same exact quintiles.
    """
    scores = np.zeros(values.size, dtype=np.int64)
    own = values[buyers]
    if own.size:
        ordered = np.sort(own)
        if ties == "high":
            below = np.searchsorted(ordered, own, side="right") - 1
        else:
            below = np.searchsorted(ordered, own, side="left")
        scores[buyers] = 1 + (5 * below) // own.size
    return scores


def rfm_scores(orders: UserOrders) -> Rfm:
    """Quintile R (by last order time; ties share the best), F (order count) and M (spend) over buyers."""
    buyers = orders.orders > 0
    return Rfm(
        r=quintile_scores(orders.last_order_at, buyers, ties="high"),
        f=quintile_scores(orders.orders.astype(np.float64), buyers),
        m=quintile_scores(orders.spend, buyers),
    )

"""Channel attribution: who each channel brought in, how many bought, and which revenue it earns credit for.

Rules (all revenue = sum of quantity x unitPrice over a user's order lines, see user_features):
- ``acquiredUsers``: users whose ``ACQUIRED_VIA`` points at the channel; ``buyers``: those of them
  with at least one order; ``conversionRate`` = buyers / acquiredUsers (0 when none).
- ``revenue`` = ``firstTouchRevenue``: the whole revenue of the channel's acquired users (first
  touch credits the acquisition channel); the two are equal by definition and both kept so the
  first-touch / last-touch comparison reads side by side.
- ``lastTouchRevenue``: a user's whole revenue credited to the channel of their latest order
  (``(:Order)-[:VIA]->(:Channel)``, orderId breaking ties); latest orders without a channel credit none.
- ``referralRevenue``: extra credit, not a split. The revenue of a referred user is credited back
  along ``REFERRED`` ties: ``REFERRAL_SHARES`` = 50% to the direct referrer, 25% to theirs, 12.5% to
  the third, then it stops. A user with several referrers splits each level's credit equally among
  them. Each referrer's credit goes to the referrer's own acquisition channel. Self-referrals are
  ignored; longer cycles are only cut by the depth limit.
Money is summed in whole cents (``cents``, docs/data-format.md, "Money"), so sums are exact to the cent.
Users (or referrers) without an acquisition channel, and latest orders without one, are counted in
the report as unattributed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from personagraph.graph.analytics.projection import IdArray, read_ranges
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.analytics.user_features import (
    MAX_USER_ID,
    FloatArray,
    UserOrders,
    project_user_orders,
)
from personagraph.graph.store import GraphStore
from personagraph.graph.times import aware

REFERRAL_SHARES = (0.5, 0.25, 0.125)


@dataclass(frozen=True)
class ChannelStats:
    """Attribution figures of one channel, as written on the Channel node."""

    channel_id: str
    kind: str | None
    acquired_users: int
    buyers: int
    conversion_rate: float
    revenue: float
    first_touch_revenue: float
    last_touch_revenue: float
    referral_revenue: float
    run_id: str | None = None
    computed_at: datetime | None = None


@dataclass(frozen=True)
class AttributionReport:
    """What an attribution run wrote, and the revenue no channel could be credited with."""

    run_id: str
    channels: list[ChannelStats]
    total_revenue: float
    unattributed_first_touch: float
    unattributed_last_touch: float
    referral_credit: float
    unattributed_referral: float


@dataclass(frozen=True)
class Channels:
    """Channels by sorted internal id."""

    ids: IdArray
    keys: list[str]
    kinds: list[str]

    def positions(self, internal_ids: IdArray) -> tuple[IdArray, npt.NDArray[np.bool_]]:
        """Positions of channel internal ids, and which are known channels (-1 = none)."""
        if self.ids.size == 0:
            return np.zeros(internal_ids.size, dtype=np.int64), np.zeros(internal_ids.size, dtype=np.bool_)
        at = np.minimum(np.searchsorted(self.ids, internal_ids), self.ids.size - 1)
        return at, (internal_ids >= 0) & (self.ids[at] == internal_ids)


def project_channels(store: GraphStore) -> Channels:
    """All channels in one read: there are few, unlike users."""
    row = store.read("analytics/read/project_channels")[0]
    ids = np.asarray(row["ids"], dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    return Channels(ids[order], [row["keys"][i] for i in order], [row["kinds"][i] for i in order])


def project_referrals(store: GraphStore, users: IdArray) -> sp.csr_matrix:
    """A[referrer, referred] = 1 / (number of referrers of the referred user)."""
    src: list[int] = []
    dst: list[int] = []
    for row in read_ranges(store, "analytics/read/project_referrals", MAX_USER_ID):
        src += row["src"]
        dst += row["dst"]
    a, b = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    known = np.isin(a, users) & np.isin(b, users)
    a, b = np.searchsorted(users, a[known]), np.searchsorted(users, b[known])
    referrers = np.bincount(b, minlength=users.size).astype(np.float64)
    weights = 1.0 / referrers[b] if b.size else np.zeros(0)
    return sp.csr_matrix((weights, (a, b)), shape=(users.size, users.size))


def referral_credit(referred_by: sp.csr_matrix, revenue: FloatArray) -> FloatArray:
    """Credit per referrer: sum over levels d of REFERRAL_SHARES[d] x A^(d+1) @ revenue."""
    credit = np.zeros(revenue.size, dtype=np.float64)
    level = revenue
    for share in REFERRAL_SHARES:
        level = np.asarray(referred_by @ level, dtype=np.float64)
        credit += share * level
    return credit


def cents(money: FloatArray) -> FloatArray:
    """Amounts (never negative) rounded to whole cents, half up as graph.money does, as floats holding
    integers: their sums are exact up to 2^53 cents."""
    return np.floor(np.asarray(money, dtype=np.float64) * 100.0 + 0.5)


def money_total(money: FloatArray) -> float:
    """The exact sum of amounts, each to the cent (docs/data-format.md, "Money"): a float sum of 2-place
    amounts drifts (294775.6900000001) and depends on the order of its terms."""
    return float(cents(money).sum()) / 100.0


def compute_stats(channels: Channels, orders: UserOrders, credit: FloatArray) -> list[ChannelStats]:
    """Per-channel sums of users, buyers and the three revenue views, money summed in whole cents."""
    n = len(channels.keys)
    acq, has_acq = channels.positions(orders.acquired_via)
    last, has_last = channels.positions(orders.last_via)
    buyer = orders.orders > 0

    def per_channel(at: IdArray, mask: npt.NDArray[np.bool_], weights: FloatArray | None) -> FloatArray:
        """Count (or sum ``weights``) of the masked users per channel."""
        w = None if weights is None else weights[mask]
        return np.bincount(at[mask], weights=w, minlength=n).astype(np.float64)

    acquired = per_channel(acq, has_acq, None)
    buyers = per_channel(acq, has_acq & buyer, None)
    revenue = per_channel(acq, has_acq, cents(orders.spend)) / 100.0
    last_touch = per_channel(last, has_last, cents(orders.spend)) / 100.0
    referral = per_channel(acq, has_acq, cents(credit)) / 100.0
    return [
        ChannelStats(
            channel_id=channels.keys[i],
            kind=channels.kinds[i],
            acquired_users=int(acquired[i]),
            buyers=int(buyers[i]),
            conversion_rate=float(buyers[i] / acquired[i]) if acquired[i] else 0.0,
            revenue=float(revenue[i]),
            first_touch_revenue=float(revenue[i]),
            last_touch_revenue=float(last_touch[i]),
            referral_revenue=float(referral[i]),
        )
        for i in range(n)
    ]


def run_attribution(store: GraphStore, *, batch_size: int = 1000) -> AttributionReport:
    """Compute channel attribution over all users and write it onto the channels."""
    with analytics_run(store, "attribution", {"referralShares": list(REFERRAL_SHARES)}) as run:
        with run.phase("projection"):
            orders = project_user_orders(store)
            channels = project_channels(store)
            referred_by = project_referrals(store, orders.ids)
        run.input_sizes.update(users=orders.size, channels=len(channels.keys), referrals=referred_by.nnz)
        with run.phase("compute"):
            credit = referral_credit(referred_by, orders.spend)
            stats = compute_stats(channels, orders, credit)
            stamped = [replace(s, run_id=run.run_id, computed_at=run.started_at) for s in stats]
        with run.phase("write"):
            store.write_batches(
                "analytics/write/write_channel_attribution",
                _rows(channels, stats),
                batch_size=batch_size,
                **run.stamp,
            )
        run.counts["channels"] = len(stats)
        _, has_acq = channels.positions(orders.acquired_via)
        _, has_last = channels.positions(orders.last_via)
        return AttributionReport(
            run_id=run.run_id,
            channels=sorted(stamped, key=lambda s: (-s.revenue, s.channel_id)),
            total_revenue=money_total(orders.spend),
            unattributed_first_touch=money_total(orders.spend[~has_acq]),
            unattributed_last_touch=money_total(orders.spend[~has_last]),
            referral_credit=money_total(credit),
            unattributed_referral=money_total(credit[~has_acq]),
        )


def _rows(channels: Channels, stats: list[ChannelStats]) -> Iterator[dict[str, Any]]:
    """Write-back rows keyed by internal id, matching the projection of this run."""
    for internal_id, s in zip(channels.ids.tolist(), stats, strict=True):
        yield {
            "id": internal_id,
            "acquiredUsers": s.acquired_users,
            "buyers": s.buyers,
            "conversionRate": s.conversion_rate,
            "revenue": s.revenue,
            "firstTouchRevenue": s.first_touch_revenue,
            "lastTouchRevenue": s.last_touch_revenue,
            "referralRevenue": s.referral_revenue,
        }


def channel_stats(store: GraphStore) -> list[ChannelStats]:
    """The figures the last attribution run wrote, highest revenue first (for the API)."""
    return [
        ChannelStats(
            channel_id=r["channelId"],
            kind=r["kind"],
            acquired_users=int(r["acquiredUsers"]),
            buyers=int(r["buyers"]),
            conversion_rate=float(r["conversionRate"]),
            revenue=float(r["revenue"]),
            first_touch_revenue=float(r["firstTouchRevenue"]),
            last_touch_revenue=float(r["lastTouchRevenue"]),
            referral_revenue=float(r["referralRevenue"]),
            run_id=r["runId"],
            computed_at=aware(r["computedAt"]) if r["computedAt"] is not None else None,
        )
        for r in store.read("analytics/read/list_channel_stats")
    ]

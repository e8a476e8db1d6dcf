"""A segment run: RFM scores (:mod:`graph.analytics.rfm`) and lifecycle tiers
(:mod:`graph.analytics.lifecycle`) of every user, computed and written onto the users in one pass.

Personas: see :mod:`graph.analytics.personas` and ``docs/segments.md``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from personagraph.graph.analytics.lifecycle import DORMANT_DAYS, NEW_DAYS, TIERS, assign_tiers, tier_inputs
from personagraph.graph.analytics.rfm import Rfm, rfm_scores
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.analytics.user_features import UserOrders, project_user_orders
from personagraph.graph.as_of import Basis, resolve_as_of
from personagraph.graph.store import GraphStore


@dataclass(frozen=True)
class SegmentReport:
    """What a segment run wrote: users per lifecycle tier and per RFM score."""

    run_id: str
    as_of: datetime
    users: int
    buyers: int
    tiers: dict[str, int]
    rfm_scores: dict[str, int]
    as_of_basis: Basis = "given"  # or where the default came from: 'latest order', 'latest event', 'now'


def run_segments(
    store: GraphStore,
    *,
    as_of: datetime | None = None,
    batch_size: int = 5000,
    new_days: float = NEW_DAYS,
    dormant_days: float = DORMANT_DAYS,
) -> SegmentReport:
    """Score RFM and lifecycle tiers for every user and write them onto the users.

    ``as_of`` defaults to the graph's data time (:func:`graph.as_of.resolve_as_of`).
    """
    when = resolve_as_of(store, as_of)
    as_of = when.at
    params = {
        "asOf": as_of.isoformat(),
        "asOfBasis": when.basis,
        "newDays": new_days,
        "dormantDays": dormant_days,
    }
    with analytics_run(store, "segments", params) as run:
        with run.phase("projection"):
            orders = project_user_orders(store)
        run.input_sizes["users"] = orders.size
        with run.phase("compute"):
            rfm = rfm_scores(orders)
            tiers = assign_tiers(
                tier_inputs(orders, rfm, as_of, new_days=new_days, dormant_days=dormant_days)
            )
            codes = rfm.codes()
        with run.phase("write"):
            rows = _segment_rows(orders, rfm, codes, tiers)
            store.write_batches(
                "analytics/write/write_user_segments", rows, batch_size=batch_size, **run.stamp
            )
        tier_counts = {t: int(np.count_nonzero(tiers == t)) for t in TIERS}
        run.counts.update(tier_counts)
        codes_seen, code_counts = np.unique(np.asarray(codes, dtype=str), return_counts=True)
        return SegmentReport(
            run_id=run.run_id,
            as_of=as_of,
            users=orders.size,
            buyers=int(np.count_nonzero(orders.orders)),
            tiers=tier_counts,
            rfm_scores=dict(zip(codes_seen.tolist(), code_counts.tolist(), strict=True)),
            as_of_basis=when.basis,
        )


def _segment_rows(
    orders: UserOrders, rfm: Rfm, codes: list[str], tiers: npt.NDArray[np.str_]
) -> Iterator[dict[str, Any]]:
    """Rows lazily, so only one batch of dicts exists at a time on large graphs."""
    columns = zip(
        orders.ids.tolist(),
        rfm.r.tolist(),
        rfm.f.tolist(),
        rfm.m.tolist(),
        codes,
        tiers.tolist(),
        strict=True,
    )
    for user, r, f, m, code, tier in columns:
        yield {"id": user, "r": r, "f": f, "m": m, "score": code, "lifecycle": tier}

"""RFM scores, lifecycle tiers and personas of every user, written back onto the users.

RFM (over buyers, users with at least one order; everyone else scores 0/0/0):
- R ranks the time of the last order (most recent = 5), F the number of orders, M the spend
  (sum of quantity x unitPrice of all order lines).
- score = 1 + floor(5 x (buyers with a strictly smaller value) / buyers): exact quintiles when
  values are distinct, and equal values always get equal scores (so with many one-order buyers,
  F jumps from 1 straight to a higher score). For R, ties share the *best* score instead,
  1 + floor(5 x (buyers with a value <= it, less one) / buyers): buyers tied at the latest order
  time are as recent as anyone can be (all orders on one date: every buyer R 5, not 1). F and M
  keep the lowest: one-order buyers stay F 1 however many they are, spend 0 stays M 1.
- ``rfmScore`` is the three digits, e.g. '545'; non-buyers have '000'.

Lifecycle tiers, an ordered rule list: the first rule a user meets is the tier, the last always
matches, so every user gets exactly one. Days count back from ``as_of`` (default: the latest order
or behaviour event in the graph, :mod:`graph.as_of`, the same default rule tags use, so historic
or generated data works); "first seen" is the earlier of the acquisition time and the first order.
1. ``new``: first seen within ``new_days`` (30) of as_of.
2. ``prospect``: never ordered.
3. ``dormant``: R <= 2, or the last order more than ``dormant_days`` (365) before as_of.
4. ``core``: R >= 4, F >= 4 and M >= 4.
5. ``loyal``: F >= 4 (and R >= 3, implied by rule 3).
6. ``potential``: R >= 4 and F <= 2.
7. ``occasional``: everyone else (buyers with R >= 3 who are neither frequent nor new-ish).

Personas: see :mod:`graph.analytics.personas` and ``docs/segments.md``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from neo4j import Record

from personagraph.graph.analytics.personas import (
    MATCH_DISTANCE,
    CentroidMatch,
    FeatureMatrix,
    KnownCentroid,
    PersonaProfile,
    centroids,
    cluster,
    describe,
    feature_matrix,
    match_centroids,
    weighted_standardised,
)
from personagraph.graph.analytics.runs import AnalyticsRun, analytics_run
from personagraph.graph.analytics.user_features import UserOrders, project_persona_inputs, project_user_orders
from personagraph.graph.as_of import Basis, resolve_as_of
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)
DAY = 86_400.0
PERSONA_ID = re.compile(r"persona-(\d+)")
NEW_DAYS = 30
DORMANT_DAYS = 365
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


@dataclass(frozen=True)
class PersonaSummary:
    """One persona of a run: ``new`` (first found now) or ``kept`` (the same cluster as a persona of the
    previous run, so the same id; its name may have changed, and its centroid moved by ``distance``)."""

    persona_id: str
    name: str
    description: str
    size: int
    status: Literal["new", "kept"] = "new"
    previous_name: str | None = None
    distance: float | None = None
    first_run_id: str | None = None  # the run that first found it


@dataclass(frozen=True)
class RetiredPersona:
    """A persona of the previous run not found again: its id is recorded and never given to a new cluster."""

    persona_id: str
    name: str
    size: int  # members in the last run that had it


@dataclass(frozen=True)
class PersonaReport:
    """What a persona run wrote: the chosen k, the silhouette of each k tried, the personas (new or kept)
    and the previous run's personas it retired."""

    run_id: str
    users: int
    k: int
    silhouettes: dict[int, float]
    personas: list[PersonaSummary]
    retired: list[RetiredPersona] = field(default_factory=list)

    @property
    def sizes(self) -> dict[str, int]:
        """Members per persona id, for quick checks and run counts."""
        return {p.persona_id: p.size for p in self.personas}

    @property
    def new(self) -> list[str]:
        """Ids of the personas first found in this run."""
        return [p.persona_id for p in self.personas if p.status == "new"]


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
            store.write_batches("analytics/write/write_user_segments", rows, batch_size=batch_size, **run.stamp)
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


def run_personas(
    store: GraphStore,
    *,
    k: int | None = None,
    sample: int = 20000,
    batch_size: int = 5000,
    match_distance: float = MATCH_DISTANCE,
) -> PersonaReport:
    """Cluster users into personas (k by silhouette unless given), name them, and link every user.

    A cluster whose centroid is within ``match_distance`` of a persona of the previous run (Hungarian
    matching, :func:`graph.analytics.personas.match_centroids`) keeps that persona's id; the others get
    ids never used before, and the previous personas left unmatched are retired (RetiredPersona nodes).
    """
    params = {"k": k, "sample": sample, "matchDistance": match_distance}
    with analytics_run(store, "personas", params) as run:
        with run.phase("projection"):
            orders = project_user_orders(store)
            inputs = project_persona_inputs(store, orders.ids)
        run.input_sizes["users"] = orders.size
        with run.phase("compute"):
            rfm = rfm_scores(orders)
            matrix = feature_matrix(np.column_stack([rfm.r, rfm.f, rfm.m]), inputs)
            clustering = cluster(weighted_standardised(matrix), k=k, sample=sample)
            profiles = describe(matrix, clustering.labels, clustering.k)
            means = centroids(matrix, clustering.labels, clustering.k)
        with run.phase("match"):
            previous = store.read("analytics/read/previous_personas")
            known = [
                KnownCentroid(
                    r["personaId"], dict(zip(r["features"] or [], r["centroid"] or [], strict=True))
                )
                for r in previous
            ]
            matches = match_centroids(known, matrix, means, max_distance=match_distance)
            used = store.read("analytics/read/persona_ids_used")[0]["ids"]
            personas, retired = _identify(profiles, matches, previous, used, run.run_id)
        with run.phase("write"):
            _write_personas(
                store, run, orders, clustering.labels, personas, means, matrix, previous, retired, batch_size
            )
        run.counts.update(
            {"k": clustering.k, "new": sum(p.status == "new" for p in personas), "retired": len(retired)}
        )
        run.counts.update({p.persona_id: p.size for p in personas})
        for p in personas:
            log.info("%s %s: %s (%d users)", p.persona_id, p.status, p.name, p.size)
        for gone in retired:
            log.info("%s retired: %s", gone.persona_id, gone.name)
        return PersonaReport(
            run_id=run.run_id,
            users=orders.size,
            k=clustering.k,
            silhouettes={c: round(s, 4) for c, s in clustering.silhouettes.items()},
            personas=personas,
            retired=retired,
        )


def _identify(
    profiles: list[PersonaProfile],
    matches: dict[int, CentroidMatch],
    previous: list[Record],
    used: list[str],
    run_id: str,
) -> tuple[list[PersonaSummary], list[RetiredPersona]]:
    """Matched clusters keep their persona's id; new ones take the next never-used number, largest first."""
    numbers = [int(m.group(1)) for u in used if (m := PERSONA_ID.fullmatch(u))]
    next_number = max(numbers, default=0) + 1
    personas: list[PersonaSummary] = []
    for c, profile in enumerate(profiles):  # clusters are numbered by size
        found = matches.get(c)
        if found is None:
            personas.append(
                PersonaSummary(
                    f"persona-{next_number}",
                    profile.name,
                    profile.description,
                    profile.size,
                    first_run_id=run_id,
                )
            )
            next_number += 1
            continue
        before = previous[found.previous]
        personas.append(
            PersonaSummary(
                before["personaId"],
                profile.name,
                profile.description,
                profile.size,
                status="kept",
                previous_name=before["name"],
                distance=found.distance,
                first_run_id=before["firstRunId"] or before["runId"],
            )
        )
    matched = {m.previous for m in matches.values()}
    retired = [
        RetiredPersona(r["personaId"], r["name"], int(r["size"] or 0))
        for i, r in enumerate(previous)
        if i not in matched
    ]
    return personas, retired


def _write_personas(
    store: GraphStore,
    run: AnalyticsRun,
    orders: UserOrders,
    labels: Scores,
    personas: list[PersonaSummary],
    means: npt.NDArray[np.float64],
    matrix: FeatureMatrix,
    previous: list[Record],
    retired: list[RetiredPersona],
    batch_size: int,
) -> None:
    """Create this run's personas (with centroids), relink every user, retire the personas not found
    again, then drop the persona nodes of earlier runs."""
    store.write(
        "analytics/write/create_personas",
        rows=[
            {
                "personaId": p.persona_id,
                "name": p.name,
                "description": p.description,
                "size": p.size,
                "firstRunId": p.first_run_id,
                "centroid": [round(v, 9) for v in means[i].tolist()],
            }
            for i, p in enumerate(personas)
        ],
        features=[f.key for f in matrix.features],
        **run.stamp,
    )
    ids = [p.persona_id for p in personas]
    rows = (
        {"id": user, "personaId": ids[label]}
        for user, label in zip(orders.ids.tolist(), labels.tolist(), strict=True)
    )
    store.write_batches("analytics/write/assign_user_personas", rows, batch_size=batch_size, runId=run.run_id)
    gone = {r.persona_id for r in retired}
    store.write(
        "analytics/write/retire_personas",
        rows=[
            {
                "personaId": r["personaId"],
                "name": r["name"],
                "description": r["description"],
                "size": r["size"],
                "lastRunId": r["runId"],
            }
            for r in previous
            if r["personaId"] in gone
        ],
        **run.stamp,
    )
    store.write("analytics/write/delete_old_personas", runId=run.run_id)

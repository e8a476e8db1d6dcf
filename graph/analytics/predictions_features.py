"""Prediction features as of a cutoff: orders, behaviour, RFM and the social graph, from data before it only.

The history is projected once (every dated order, every behaviour edge's ``firstAt``, the social ties);
:func:`features_at` then cuts it at any time ``T`` and :func:`labels_at` reads what happened in
``(T, T + horizon]``. Features read orders placed at or before ``T`` and behaviour edges first touched
at or before ``T``; an edge's ``count`` and ``lastAt`` are never read, since they mix events from
both sides of ``T``. Ties carry no time, so the graph features (PageRank, community, friends) use the
ties as they are now: the one place where later data can reach a feature (docs/predictions.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from personagraph.graph.analytics.influence import InfluenceWeights, pagerank
from personagraph.graph.analytics.leiden import leiden
from personagraph.graph.analytics.projection import IdArray, NodeIndex, read_ranges, weighted_adjacency
from personagraph.graph.analytics.social_communities import undirected_graph
from personagraph.graph.analytics.social_projection import FRIEND_OF, project_social_edges
from personagraph.graph.store import GraphStore

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
DAY = 86_400.0
MAX_USER_ID = "analytics/read/max_user_id"

RFM_FEATURES = ("recency_days", "frequency", "monetary")
HISTORY_FEATURES = (
    "tenure_days",
    "orders_last_window",
    "spend_last_window",
    "orders_last_2_windows",
    "avg_order_value",
    "days_between_orders",
    "touches",
    "touches_last_window",
    "days_since_new_touch",
)
GRAPH_FEATURES = (
    "pagerank",
    "degree",
    "community_size",
    "friends_quiet_share",
    "friends_churned_share",
    "friends_orders_last_window",
    "community_quiet_share",
)
ALL_FEATURES = RFM_FEATURES + HISTORY_FEATURES + GRAPH_FEATURES


@dataclass(frozen=True)
class SocialFeatures:
    """What the graph gives every user, independent of time: PageRank, degree, community and neighbours."""

    pagerank: FloatArray
    degree: FloatArray
    community: npt.NDArray[np.int64]  # Leiden community per user (a user without ties is its own)
    neighbours: sp.csr_matrix  # 1 where two users are tied (any kind, either way), no self ties


@dataclass(frozen=True)
class History:
    """Every user (sorted internal ids), their orders and first touches, and the social graph."""

    ids: IdArray
    acquired_at: FloatArray  # epoch seconds, NaN when unknown
    order_user: npt.NDArray[np.int64]  # position of the user of each order
    order_at: FloatArray
    order_amount: FloatArray
    touch_user: npt.NDArray[np.int64]
    touch_at: FloatArray
    social: SocialFeatures

    @property
    def size(self) -> int:
        return int(self.ids.size)

    @property
    def orders(self) -> int:
        return int(self.order_at.size)

    def latest_order(self) -> float | None:
        return float(self.order_at.max()) if self.order_at.size else None

    def earliest_order(self) -> float | None:
        return float(self.order_at.min()) if self.order_at.size else None


@dataclass(frozen=True)
class Features:
    """A users x features matrix as of one cutoff, with who existed then and who had bought."""

    cutoff: float  # epoch seconds
    names: tuple[str, ...]
    values: FloatArray
    known: BoolArray  # acquired, or ordered, at or before the cutoff (or never dated)
    customers: BoolArray  # at least one order at or before the cutoff

    def columns(self, names: tuple[str, ...]) -> FloatArray:
        """The named columns, in the order given."""
        return self.values[:, [self.names.index(n) for n in names]]


@dataclass(frozen=True)
class Labels:
    """What happened in (cutoff, cutoff + horizon]: no order at all (churned), and the amount spent."""

    churned: BoolArray
    spend: FloatArray


def project_history(store: GraphStore, *, seed: int = 42) -> History:
    """Users, their dated orders and behaviour edges' firstAt, and the social graph's features."""
    ids: list[int] = []
    acquired: list[float | None] = []
    for row in read_ranges(store, "analytics/read/predictions_users", MAX_USER_ID):
        ids += row["ids"]
        acquired += [at for (at,) in row["acquiredAt"]]
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    users = np.asarray(ids, dtype=np.int64)[order]
    acquired_at = np.asarray(acquired, dtype=np.float64)[order]  # None -> NaN
    order_user, order_at, order_amount = _flat(
        store, "analytics/read/predictions_orders", users, "at", "amounts"
    )
    touch_user, touch_at, _ = _flat(store, "analytics/read/predictions_touches", users, "firstAt", None)
    return History(
        ids=users,
        acquired_at=acquired_at,
        order_user=order_user,
        order_at=order_at,
        order_amount=order_amount,
        touch_user=touch_user,
        touch_at=touch_at,
        social=social_features(store, users, seed=seed),
    )


def _flat(
    store: GraphStore, statement: str, users: IdArray, at: str, amounts: str | None
) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
    """(user position, time, amount) triples over id ranges; users loaded meanwhile are left out."""
    who: list[int] = []
    when: list[float] = []
    much: list[float] = []
    for row in read_ranges(store, statement, MAX_USER_ID):
        who += row["users"]
        when += row[at]
        if amounts is not None:
            much += row[amounts]
    internal = np.asarray(who, dtype=np.int64)
    times = np.asarray(when, dtype=np.float64)
    values = np.asarray(much, dtype=np.float64) if amounts is not None else np.zeros(times.size)
    if users.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    pos = np.minimum(np.searchsorted(users, internal), users.size - 1)
    keep = users[pos] == internal
    return pos[keep], times[keep], values[keep]


def social_features(store: GraphStore, users: IdArray, *, seed: int = 42) -> SocialFeatures:
    """PageRank, degree and Leiden communities recomputed on the ties (no time), and who neighbours whom."""
    index = NodeIndex(users, np.zeros(users.size, dtype=object))
    edges = project_social_edges(store, index)
    n = users.size
    weights = InfluenceWeights().by_kind()
    adjacency = weighted_adjacency(edges, n, weights, undirected_kinds={FRIEND_OF})
    undirected = ((adjacency + adjacency.T) > 0).astype(np.float64).tocsr()
    undirected.setdiag(0.0)
    undirected.eliminate_zeros()
    community = (
        leiden(undirected_graph(edges, n, weights), resolution=1.0, seed=seed).astype(np.int64)
        if n
        else np.zeros(0, dtype=np.int64)
    )
    return SocialFeatures(
        pagerank=pagerank(adjacency) * max(n, 1),  # 1 = an average user, whatever the graph's size
        degree=np.diff(undirected.indptr).astype(np.float64),
        community=community,
        neighbours=undirected,
    )


def features_at(history: History, cutoff: float, horizon_days: float) -> Features:
    """Every user's features from orders placed, and products first touched, at or before ``cutoff``."""
    n, window = history.size, horizon_days * DAY
    before = history.order_at <= cutoff
    user, at, amount = history.order_user[before], history.order_at[before], history.order_amount[before]
    frequency = np.bincount(user, minlength=n).astype(np.float64)
    monetary = np.bincount(user, weights=amount, minlength=n)
    last = _max_by(user, at, n)
    first = _min_by(user, at, n)
    recent = at > cutoff - window
    orders_last = np.bincount(user[recent], minlength=n).astype(np.float64)
    spend_last = np.bincount(user[recent], weights=amount[recent], minlength=n)
    orders_last2 = np.bincount(user[at > cutoff - 2 * window], minlength=n).astype(np.float64)
    touched = history.touch_at <= cutoff
    t_user, t_at = history.touch_user[touched], history.touch_at[touched]
    touches = np.bincount(t_user, minlength=n).astype(np.float64)
    touches_last = np.bincount(t_user[t_at > cutoff - window], minlength=n).astype(np.float64)
    last_touch = _max_by(t_user, t_at, n)
    start = np.fmin(history.acquired_at, first)  # NaN only when neither is known
    customers = frequency > 0
    quiet = orders_last == 0  # no order in the window before the cutoff
    churned_before = customers & (first <= cutoff - window) & quiet  # bought before the window, not in it
    social = history.social
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = {
            "recency_days": (cutoff - last) / DAY,
            "frequency": frequency,
            "monetary": monetary,
            "tenure_days": (cutoff - start) / DAY,
            "orders_last_window": orders_last,
            "spend_last_window": spend_last,
            "orders_last_2_windows": orders_last2,
            "avg_order_value": np.where(customers, monetary / np.maximum(frequency, 1), np.nan),
            "days_between_orders": np.where(frequency > 1, (last - first) / DAY / (frequency - 1), np.nan),
            "touches": touches,
            "touches_last_window": touches_last,
            "days_since_new_touch": (cutoff - last_touch) / DAY,
            "pagerank": social.pagerank,
            "degree": social.degree,
            "community_size": np.bincount(social.community, minlength=1)[social.community].astype(np.float64)
            if n
            else np.zeros(0),
            "friends_quiet_share": _neighbour_mean(social, quiet.astype(np.float64)),
            "friends_churned_share": _neighbour_mean(social, churned_before.astype(np.float64)),
            "friends_orders_last_window": _neighbour_mean(social, orders_last),
            "community_quiet_share": _community_share(social, quiet),
        }
    values = (
        np.column_stack([columns[name] for name in ALL_FEATURES]) if n else np.zeros((0, len(ALL_FEATURES)))
    )
    first_seen = np.fmin(history.acquired_at, _min_by(history.order_user, history.order_at, n))
    known = np.isnan(first_seen) | (first_seen <= cutoff)  # never dated, or there by the cutoff
    return Features(cutoff, ALL_FEATURES, values, known, customers)


def labels_at(history: History, cutoff: float, horizon_days: float) -> Labels:
    """Churned (no order in ``(cutoff, cutoff + horizon]``) and the amount spent in it, per user."""
    inside = (history.order_at > cutoff) & (history.order_at <= cutoff + horizon_days * DAY)
    user = history.order_user[inside]
    orders = np.bincount(user, minlength=history.size)
    spend = np.bincount(user, weights=history.order_amount[inside], minlength=history.size)
    return Labels(churned=orders == 0, spend=spend.astype(np.float64))


def _max_by(user: npt.NDArray[np.int64], values: FloatArray, n: int) -> FloatArray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, user, values)
    return np.where(np.isinf(out), np.nan, out)


def _min_by(user: npt.NDArray[np.int64], values: FloatArray, n: int) -> FloatArray:
    out = np.full(n, np.inf)
    np.minimum.at(out, user, values)
    return np.where(np.isinf(out), np.nan, out)


def _neighbour_mean(social: SocialFeatures, values: FloatArray) -> FloatArray:
    """Mean of ``values`` over each user's neighbours; NaN for a user without any."""
    sums = np.asarray(social.neighbours @ values, dtype=np.float64)
    counts = np.diff(social.neighbours.indptr)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _community_share(social: SocialFeatures, flag: BoolArray) -> FloatArray:
    """Share of the other members of each user's community with ``flag``; NaN when alone."""
    if flag.size == 0:
        return np.zeros(0)
    members = np.bincount(social.community).astype(np.float64)
    flagged = np.bincount(social.community, weights=flag.astype(np.float64), minlength=members.size)
    others = members[social.community] - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(others > 0, (flagged[social.community] - flag) / others, np.nan)

"""Influence on the social graph: weighted PageRank, degree and 2-hop reach of every user.

Edges: ``(a)-[:FOLLOWS]->(b)`` and ``(a)-[:REFERRED]->(b)`` count one way (a's attention goes to b),
``FRIEND_OF`` both ways. Weights per kind are parameters (referrals count double by default).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from personagraph.graph.analytics.projection import weighted_adjacency
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.analytics.social_projection import (
    FOLLOWS,
    FRIEND_OF,
    REFERRED,
    SocialProjection,
    project_for_run,
)
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)

Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class InfluenceWeights:
    """Weight of each tie kind; social communities weigh ties with the same."""

    follows: float = 1.0
    friend: float = 1.0
    referred: float = 2.0

    def by_kind(self) -> dict[int, float]:
        return {FOLLOWS: self.follows, FRIEND_OF: self.friend, REFERRED: self.referred}


def pagerank(
    adjacency: sp.csr_matrix, *, damping: float = 0.85, tol: float = 1e-12, max_iter: int = 1000
) -> Vector:
    """Weighted PageRank by power iteration, with networkx's conventions.

    Rows are sources. Dangling nodes (no out-weight) spread their rank uniformly; the teleport is
    uniform. Stops when the L1 change falls below ``n * tol``.
    """
    n = adjacency.shape[0]
    if n == 0:
        return np.zeros(0)
    out = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = out == 0
    inv = np.divide(1.0, out, out=np.zeros(n), where=~dangling)
    transition = sp.diags(inv) @ adjacency  # row-stochastic except dangling rows
    transposed = transition.T.tocsr()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        previous = x
        x = damping * (transposed @ x + previous[dangling].sum() / n) + (1.0 - damping) / n
        if np.abs(x - previous).sum() < n * tol:
            break
    else:
        log.warning("PageRank did not converge in %d iterations", max_iter)
    return np.asarray(x / x.sum(), dtype=np.float64)


def two_hop_reach(adjacency: sp.csr_matrix, *, chunk: int = 20_000) -> npt.NDArray[np.int64]:
    """Distinct users within two hops, ignoring direction (rows in chunks to bound memory)."""
    n = adjacency.shape[0]
    undirected = ((adjacency + adjacency.T) > 0).astype(np.int8).tocsr()
    reach = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        block = undirected[lo : lo + chunk]
        two = (block + block @ undirected).tocsr()
        two.setdiag(0, k=lo)  # a user does not reach themself
        two.eliminate_zeros()
        reach[lo : lo + chunk] = np.diff(two.indptr)
    return reach


def ranks(scores: Vector) -> npt.NDArray[np.int64]:
    """1 = highest score; ties broken by position (stable)."""
    order = np.argsort(-scores, kind="stable")
    result = np.empty(scores.size, dtype=np.int64)
    result[order] = np.arange(1, scores.size + 1)
    return result


@dataclass(frozen=True)
class InfluenceReport:
    run_id: str
    users: int
    ties: int
    top: list[tuple[str, float]] = field(default_factory=list)  # (userId, score), best first


def run_influence(
    store: GraphStore,
    *,
    weights: InfluenceWeights | None = None,
    damping: float = 0.85,
    reach: bool = True,
    batch_size: int = 10_000,
    projection: SocialProjection | None = None,
) -> InfluenceReport:
    """PageRank, degree and (``reach``) 2-hop reach for every user, written back with the run's stamp.

    2-hop reach is the costly part on large graphs (about as long as PageRank, degree and the
    write together at 1M users); without it ``reach2`` is left as it was.
    """
    weights = weights or InfluenceWeights()
    params = {
        "engine": "python",
        "weights": weights.__dict__,
        "damping": damping,
        "reach": reach,
        "shared": projection is not None,
    }
    with analytics_run(store, "influence", params) as run:
        users, edges = project_for_run(store, run, projection)
        with run.phase("compute"):
            adjacency = weighted_adjacency(edges, users.size, weights.by_kind(), undirected_kinds={FRIEND_OF})
            scores = pagerank(adjacency, damping=damping)
            degree = np.diff(((adjacency + adjacency.T) > 0).tocsr().indptr)
            rank = ranks(scores)
        columns = {
            "ids": users.ids.tolist(),
            "scores": scores.tolist(),
            "ranks": rank.tolist(),
            "degrees": degree.tolist(),
        }
        if reach:
            with run.phase("reach"):
                columns["reaches"] = two_hop_reach(adjacency).tolist()
        with run.phase("write"):
            store.write_columns(
                "analytics/write/write_influence" if reach else "analytics/write/write_influence_no_reach",
                columns,
                batch_size=batch_size,
                **run.stamp,
            )
        run.counts["users_scored"] = users.size
        best = np.argsort(-scores, kind="stable")[:10]
        return InfluenceReport(
            run.run_id, users.size, edges.size, [(str(users.keys[i]), float(scores[i])) for i in best]
        )

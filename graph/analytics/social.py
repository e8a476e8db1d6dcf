"""Influence (weighted PageRank, degree, 2-hop reach) and Leiden communities on the social graph.

Edges: ``(a)-[:FOLLOWS]->(b)`` and ``(a)-[:REFERRED]->(b)`` count one way (a's attention goes to b),
``FRIEND_OF`` both ways. Weights per kind are parameters (referrals count double by default).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import igraph as ig
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from personagraph.graph.analytics.leiden import leiden
from personagraph.graph.analytics.projection import (
    EdgeList,
    NodeIndex,
    project_social_edges,
    project_users,
    weighted_adjacency,
)
from personagraph.graph.analytics.runs import AnalyticsRun, analytics_run
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)

FOLLOWS, FRIEND_OF, REFERRED = 0, 1, 2
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class InfluenceWeights:
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
        "weights": weights.__dict__,
        "damping": damping,
        "reach": reach,
        "shared": projection is not None,
    }
    with analytics_run(store, "influence", params) as run:
        users, edges = _project(store, run, projection)
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


@dataclass(frozen=True)
class SocialProjection:
    """Users and their ties, read once; influence and communities can share one."""

    users: NodeIndex
    edges: EdgeList


def project_social(store: GraphStore) -> SocialProjection:
    users = project_users(store)
    return SocialProjection(users, project_social_edges(store, users))


def _project(
    store: GraphStore, run: AnalyticsRun, shared: SocialProjection | None
) -> tuple[NodeIndex, EdgeList]:
    """This run's projection: the shared one when given (its time is the sharer's), else a new one."""
    if shared is None:
        with run.phase("projection"):
            shared = project_social(store)
    run.input_sizes.update(users=shared.users.size, ties=shared.edges.size)
    return shared.users, shared.edges


def undirected_graph(edges: EdgeList, n: int, weights: dict[int, float]) -> ig.Graph:
    """One undirected edge per connected pair, weights summed over kinds and directions."""
    w = np.asarray([weights.get(k, 0.0) for k in range(3)], dtype=np.float64)[edges.kinds]
    a, b = np.minimum(edges.src, edges.dst), np.maximum(edges.src, edges.dst)
    keep = a != b
    pairs = sp.coo_matrix((w[keep], (a[keep], b[keep])), shape=(n, n)).tocsr().tocoo()  # sums duplicates
    graph = ig.Graph(n=n, directed=False)
    graph.add_edges(np.column_stack([pairs.row, pairs.col]).astype(np.int64))  # numpy: no Python tuples
    graph.es["weight"] = pairs.data.tolist()
    return graph


@dataclass(frozen=True)
class CommunityReport:
    run_id: str
    users: int
    communities: int  # with at least min_size members (the ones given Community nodes)
    modularity: float
    sizes: list[int]
    without_community: int = 0  # users in groups under min_size (users without ties too): no socialCommunity


def run_social_communities(
    store: GraphStore,
    *,
    weights: InfluenceWeights | None = None,
    resolution: float = 1.0,
    seed: int = 42,
    min_size: int = 3,
    batch_size: int = 10_000,
    projection: SocialProjection | None = None,
) -> CommunityReport:
    """Leiden communities: users in groups of min_size or more get socialCommunity and a Community node.

    Users in smaller groups (a pair, a user without ties) get none: socialCommunity is null, and the
    report counts them (``without_community``). A group of one or two is no community to market to.
    """
    weights = weights or InfluenceWeights()
    params: dict[str, Any] = {
        "weights": weights.__dict__,
        "resolution": resolution,
        "seed": seed,
        "min_size": min_size,
        "shared": projection is not None,
    }
    with analytics_run(store, "communities", params) as run:
        users, edges = _project(store, run, projection)
        with run.phase("compute"):
            graph = undirected_graph(edges, users.size, weights.by_kind())
            membership = leiden(graph, resolution=resolution, seed=seed)
            modularity = float(graph.modularity(membership.tolist(), weights="weight"))
            sizes = np.bincount(membership) if membership.size else np.zeros(0, dtype=np.int64)
        with run.phase("write"):
            big = {int(c) for c in np.flatnonzero(sizes >= min_size)}
            labels = [f"social-{c}" if c in big else None for c in membership.tolist()]
            store.write_columns(
                "analytics/write/write_social_community",
                {"ids": users.ids.tolist(), "communities": labels},
                batch_size=batch_size,
                **run.stamp,
            )
        with run.phase("summarise"):
            store.write("analytics/write/replace_social_communities", minSize=min_size, **run.stamp)
        without = sum(label is None for label in labels)
        run.counts.update(
            communities=len(big), modularity_x1e6=int(modularity * 1e6), without_community=without
        )
        return CommunityReport(
            run.run_id, users.size, len(big), modularity, sorted(sizes.tolist(), reverse=True), without
        )

"""Social communities: Leiden (modularity) on the undirected social graph, written onto the users.

The weights of all ties between two users (kinds and directions) add up, with the tie weights of
influence (:class:`graph.analytics.influence.InfluenceWeights`). Communities are numbered by size
(``social-0`` is the largest); groups under ``min_size`` members are no community.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import igraph as ig
import numpy as np
import scipy.sparse as sp

from personagraph.graph.analytics.influence import InfluenceWeights
from personagraph.graph.analytics.leiden import leiden
from personagraph.graph.analytics.projection import EdgeList
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.analytics.social_projection import SocialProjection, project_for_run
from personagraph.graph.store import GraphStore


def undirected_graph(edges: EdgeList, n: int, weights: dict[int, float]) -> ig.Graph:
    """One undirected edge per connected pair, weights summed over kinds and directions."""
    w = edges.weights(weights)
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
        "engine": "python",
        "weights": weights.__dict__,
        "resolution": resolution,
        "seed": seed,
        "min_size": min_size,
        "shared": projection is not None,
    }
    with analytics_run(store, "communities", params) as run:
        users, edges = project_for_run(store, run, projection)
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

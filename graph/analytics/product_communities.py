"""Product communities: Leiden (modularity) on the co-purchase graph, written as Community nodes.

The graph is undirected, over the pairs bought together (:mod:`graph.analytics.bought_together`)
kept for BOUGHT_WITH, weighted by co-purchase count: lift already chose the edges, and count weights
keep rare pairs (whose lift is large but noisy) from dominating the partition. A co-purchase run
(:mod:`graph.analytics.copurchase`) computes and writes both.
"""

from __future__ import annotations

import igraph as ig
import numpy as np

from personagraph.graph.analytics.bought_together import Baskets, CopurchaseResult
from personagraph.graph.analytics.leiden import leiden
from personagraph.graph.analytics.projection import IdArray
from personagraph.graph.analytics.runs import AnalyticsRun
from personagraph.graph.store import GraphStore

LEIDEN_SEED = 42
TOP_CATEGORIES = 3


def product_communities(result: CopurchaseResult) -> tuple[IdArray, IdArray]:
    """Leiden (modularity, fixed seed, count weights) over products with a kept pair; largest is 0."""
    lo, hi, count = result.pairs()
    members = np.unique(np.concatenate([lo, hi]))
    if not members.size:
        return members, members
    edges = np.column_stack([np.searchsorted(members, lo), np.searchsorted(members, hi)])
    graph = ig.Graph(n=int(members.size), edges=edges.tolist())
    graph.es["weight"] = count.astype(np.float64).tolist()
    return members, leiden(graph, seed=LEIDEN_SEED)


def write_communities(
    store: GraphStore,
    baskets: Baskets,
    members: IdArray,
    community: IdArray,
    run: AnalyticsRun,
    batch_size: int,
) -> int:
    """Product communities and memberships of this run replace those of earlier runs."""
    sizes = np.bincount(community) if community.size else np.zeros(0, dtype=np.int64)
    communities = ({"communityId": f"product-{c}", "size": int(s)} for c, s in enumerate(sizes.tolist()))
    store.write_batches(
        "analytics/write/write_product_communities", communities, batch_size=batch_size, **run.stamp
    )
    memberships = (
        {"p": p, "communityId": f"product-{c}"}
        for p, c in zip(baskets.product_ids[members].tolist(), community.tolist(), strict=True)
    )
    store.write_batches(
        "analytics/write/write_product_memberships", memberships, batch_size=batch_size, **run.stamp
    )
    store.write("analytics/write/delete_stale_product_memberships", runId=run.run_id)
    store.write("analytics/write/delete_stale_product_communities", runId=run.run_id)
    store.write("analytics/write/set_product_community_categories", runId=run.run_id, top=TOP_CATEGORIES)
    return int(sizes.size)

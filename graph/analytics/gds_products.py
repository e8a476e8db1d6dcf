"""Product communities by Graph Data Science: Leiden over the BOUGHT_WITH edges a co-purchase run wrote.

The graph is the Python engine's (:mod:`graph.analytics.product_communities`): the products with a kept
pair, one undirected edge per pair weighted by co-purchase count, projected from the run's own
BOUGHT_WITH edges once they are written. Communities are numbered by size (``product-0`` the largest)
and written by the same statements. A co-purchase run (:mod:`graph.analytics.copurchase`) with
``engine="gds"`` calls :func:`check_product_memory` before it starts and :func:`gds_product_communities`
after its pairs are written.
"""

from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from personagraph.graph.analytics.bought_together import Baskets
from personagraph.graph.analytics.gds_engine import MemoryEstimate, by_size, check_memory, projected
from personagraph.graph.analytics.projection import IdArray
from personagraph.graph.analytics.runs import AnalyticsRun
from personagraph.graph.store import GraphStore

LEIDEN_SEED = 42  # the Python engine's (product_communities.LEIDEN_SEED)


def check_product_memory(store: GraphStore, *, max_pairs: int, memory_limit: int | None) -> MemoryEstimate:
    """GDS's estimate for the largest graph a run could keep (every product, ``max_pairs`` edges each);
    GdsMemoryError when it would not fit."""
    products = int(store.read("analytics/read/gds_product_count")[0]["products"])
    return check_memory(
        store,
        "analytics/read/gds_estimate_leiden",
        what="Leiden over products bought together",
        memory_limit=memory_limit,
        nodes=products,
        relationships=products * max_pairs,
        resolution=1.0,
        seed=LEIDEN_SEED,
    )


def gds_product_communities(
    store: GraphStore, baskets: Baskets, run: AnalyticsRun
) -> tuple[IdArray, IdArray]:
    """Leiden in GDS over the run's BOUGHT_WITH pairs: (member columns of ``baskets``, community by size)."""
    empty = np.zeros(0, dtype=np.int64)
    with ExitStack() as stack:
        graph = stack.enter_context(
            projected(store, "analytics/write/gds_project_copurchase", kind="copurchase", runId=run.run_id)
        )
        if not graph.nodes:  # no pair kept: no graph, no community
            return empty, empty
        store.write_returning(
            "analytics/write/gds_leiden_mutate", graph=graph.graph, resolution=1.0, seed=LEIDEN_SEED
        )
        row = store.read("analytics/read/gds_stream_communities", graph=graph.graph)[0]
    ids, community = by_size(row["ids"], row["communities"])
    return np.searchsorted(baskets.product_ids, ids).astype(np.int64), community

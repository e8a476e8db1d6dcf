"""A co-purchase run: products bought together (:mod:`graph.analytics.bought_together`, BOUGHT_WITH
edges) and the product communities they form (:mod:`graph.analytics.product_communities`), computed
from one read of the baskets and written as one run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from personagraph.graph.analytics.bought_together import (
    compute_copurchase,
    project_baskets,
    write_bought_with,
)
from personagraph.graph.analytics.gds_engine import Engine
from personagraph.graph.analytics.gds_products import check_product_memory, gds_product_communities
from personagraph.graph.analytics.product_communities import product_communities, write_communities
from personagraph.graph.analytics.runs import analytics_run
from personagraph.graph.products.read import NO_MULTI_LINE_ORDERS, NO_ORDERS, no_pairs
from personagraph.graph.store import GraphStore


@dataclass(frozen=True)
class CopurchaseReport:
    """What one co-purchase run read and wrote."""

    run_id: str
    orders: int
    products: int
    pairs_written: int  # BOUGHT_WITH edges written, each direction counted
    communities: int
    seconds: float
    multi_line_orders: int = 0  # orders of two or more different products: the only ones that make pairs
    reason: str | None = None  # why no pair was written (None when some were)


def run_copurchase(
    store: GraphStore,
    *,
    min_count: int = 3,
    min_support: float = 0.0,
    min_lift: float = 1.0,
    max_pairs: int = 20,
    batch_size: int = 5000,
    engine: Engine = "python",
    memory_limit: int | None = None,
) -> CopurchaseReport:
    """Project baskets, compute pair measures and product communities, write both back as one run.

    With ``engine="gds"`` Graph Data Science finds the communities (:mod:`graph.analytics.gds_products`)
    over the pairs once written; its memory estimate is checked first (GdsMemoryError: nothing written).
    """
    started = time.perf_counter()
    if engine == "gds":
        check_product_memory(store, max_pairs=max_pairs, memory_limit=memory_limit)
    params = {
        "min_count": min_count,
        "min_support": min_support,
        "min_lift": min_lift,
        "max_pairs": max_pairs,
        "engine": engine,
    }
    with analytics_run(store, "copurchase", params) as run:
        with run.phase("projection"):
            baskets = project_baskets(store)
        multi_line = int(np.count_nonzero(np.diff(baskets.matrix.indptr) >= 2))
        run.input_sizes.update(
            orders=baskets.orders,
            products=baskets.products,
            lines=int(baskets.matrix.nnz),
            multi_line_orders=multi_line,
        )
        with run.phase("compute"):
            result = compute_copurchase(
                baskets.matrix,
                min_count=min_count,
                min_support=min_support,
                min_lift=min_lift,
                max_pairs=max_pairs,
            )
            if engine == "python":
                members, community = product_communities(result)
        with run.phase("write"):
            written = write_bought_with(store, baskets, result, run, batch_size)
        if engine == "gds":
            with run.phase("compute"):
                members, community = gds_product_communities(store, baskets, run)
        with run.phase("write"):
            communities = write_communities(store, baskets, members, community, run, batch_size)
        run.counts.update(
            pairs=int(result.pairs()[0].size),
            edges_written=written,
            communities=communities,
            community_members=int(members.size),
        )
    return CopurchaseReport(
        run_id=run.run_id,
        orders=baskets.orders,
        products=baskets.products,
        pairs_written=written,
        communities=communities,
        seconds=round(time.perf_counter() - started, 3),
        multi_line_orders=multi_line,
        reason=None if written else _no_pairs_reason(baskets.orders, multi_line, min_count),
    )


def _no_pairs_reason(orders: int, multi_line: int, min_count: int) -> str:
    """Why a run wrote no pair, as cross-sell says it (graph.products.read)."""
    if not orders:
        return NO_ORDERS
    return NO_MULTI_LINE_ORDERS if not multi_line else no_pairs(min_count)

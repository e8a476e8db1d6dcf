"""Bought together: which products are bought in the same orders, written back as BOUGHT_WITH edges.

Baskets are read in bulk by Order id range into a binary order x product incidence matrix B;
pair counts are the upper triangle of Bᵀ·B. For each pair {a, b} bought together in ``count``
orders out of ``n``: support = count / n, confidence(a→b) = count / count(a) and
lift = support / (support(a)·support(b)) = count·n / (count(a)·count(b)).

Pairs passing ``min_count``, ``min_support`` and ``min_lift`` become directed edges a→b and b→a;
each product keeps its ``max_pairs`` strongest outgoing edges (by lift, then count), so a popular
product cannot gain thousands of edges and one direction of a pair may be dropped while the
other stays. The kept pairs are what product communities (:mod:`graph.analytics.product_communities`)
partition; a co-purchase run (:mod:`graph.analytics.copurchase`) writes both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from personagraph.graph.analytics.projection import IdArray, read_ranges
from personagraph.graph.analytics.runs import AnalyticsRun
from personagraph.graph.store import GraphStore

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Baskets:
    """Binary order x product incidence (rows: orders with a line, columns: products bought)."""

    matrix: sp.csr_matrix
    product_ids: IdArray  # internal id of each column, sorted

    @property
    def orders(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def products(self) -> int:
        return int(self.matrix.shape[1])


@dataclass(frozen=True)
class CopurchaseResult:
    """Directed co-purchase edges as product positions (columns of the incidence matrix)."""

    orders: int
    item_counts: npt.NDArray[np.int64]  # orders holding each product
    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    count: npt.NDArray[np.int64]
    support: FloatArray
    confidence: FloatArray  # of src -> dst
    lift: FloatArray

    @property
    def edges(self) -> int:
        return int(self.src.size)

    def pairs(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Undirected pairs (lo, hi, count) with at least one direction kept, each once."""
        lo, hi = np.minimum(self.src, self.dst), np.maximum(self.src, self.dst)
        n = max(int(self.item_counts.size), 1)
        _, first = np.unique(lo * n + hi, return_index=True)
        return lo[first], hi[first], self.count[first]


@dataclass(frozen=True)
class BoughtWith:
    """One product bought with the asked-for product, and how strongly."""

    sku: str
    name: str | None
    count: int
    support: float
    confidence: float
    lift: float


# --- projection ----------------------------------------------------------------------------------


def incidence(order_pos: IdArray, product_pos: IdArray, orders: int, products: int) -> sp.csr_matrix:
    """Binary incidence from (order, product) line positions: a product counts once per order."""
    data = np.ones(order_pos.size, dtype=np.int64)
    matrix = sp.csr_matrix((data, (order_pos, product_pos)), shape=(orders, products))
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def _basket_lines(store: GraphStore) -> Iterator[tuple[IdArray, IdArray]]:
    """Per id range: dense order positions (numbered within the range) and internal product ids."""
    for row in read_ranges(store, "analytics/read/project_baskets", "analytics/read/max_order_id"):
        if row["orders"]:
            _, order_pos = np.unique(np.asarray(row["orders"], dtype=np.int64), return_inverse=True)
            yield order_pos.astype(np.int64), np.asarray(row["products"], dtype=np.int64)


def project_baskets(store: GraphStore) -> Baskets:
    """Read every order's products by id range; ranges are disjoint, so order positions just add up."""
    orders: list[IdArray] = []
    products: list[IdArray] = []
    offset = 0
    for order_pos, product_ids in _basket_lines(store):
        orders.append(order_pos + offset)
        products.append(product_ids)
        offset += int(order_pos.max()) + 1
    if not orders:
        empty = np.zeros(0, dtype=np.int64)
        return Baskets(incidence(empty, empty, 0, 0), empty)
    product_ids, product_pos = np.unique(np.concatenate(products), return_inverse=True)
    matrix = incidence(np.concatenate(orders), product_pos.astype(np.int64), offset, product_ids.size)
    return Baskets(matrix, product_ids.astype(np.int64))


# --- compute -------------------------------------------------------------------------------------


def _pair_counts(matrix: sp.csr_matrix) -> tuple[IdArray, IdArray, IdArray]:
    """Orders holding both products of each pair a < b that occurs at all: the upper triangle of Bᵀ·B."""
    co = sp.triu(sp.csr_matrix(matrix.T @ matrix), k=1).tocoo()
    return co.row.astype(np.int64), co.col.astype(np.int64), co.data.astype(np.int64)


def _top_per_source(src: IdArray, dst: IdArray, lift: FloatArray, count: IdArray, k: int) -> IdArray:
    """Indices of each source's ``k`` best edges by lift desc, count desc, then destination."""
    order = np.lexsort((dst, -count, -lift, src))
    sorted_src = src[order]
    starts = np.flatnonzero(np.r_[True, sorted_src[1:] != sorted_src[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, src.size]))
    rank = np.arange(src.size) - group_start
    return np.sort(order[rank < k])


def compute_copurchase(
    matrix: sp.csr_matrix,
    *,
    min_count: int = 3,
    min_support: float = 0.0,
    min_lift: float = 1.0,
    max_pairs: int = 20,
) -> CopurchaseResult:
    """Association measures of every product pair over binary baskets; pure, so testable without Neo4j."""
    n = int(matrix.shape[0])
    item_counts = np.asarray(matrix.sum(axis=0), dtype=np.int64).ravel()
    a, b, count = _pair_counts(matrix)
    keep = count >= min_count
    a, b, count = a[keep], b[keep], count[keep]
    support = count / max(n, 1)
    # one division of exact integers, so equal ratios give equal floats (stable ranking of ties)
    lift = (count * float(n)) / (item_counts[a] * item_counts[b]).astype(np.float64)
    keep = (support >= min_support) & (lift >= min_lift)
    a, b, count, support, lift = a[keep], b[keep], count[keep], support[keep], lift[keep]
    src, dst = np.concatenate([a, b]), np.concatenate([b, a])
    count, support, lift = np.tile(count, 2), np.tile(support, 2), np.tile(lift, 2)
    top = _top_per_source(src, dst, lift, count, max_pairs)
    src, dst, count, support, lift = src[top], dst[top], count[top], support[top], lift[top]
    return CopurchaseResult(
        orders=n,
        item_counts=item_counts,
        src=src,
        dst=dst,
        count=count,
        support=support,
        confidence=count / item_counts[src].astype(np.float64),
        lift=lift,
    )


# --- write back ----------------------------------------------------------------------------------


def _edge_rows(baskets: Baskets, result: CopurchaseResult) -> Iterator[dict[str, Any]]:
    ids = baskets.product_ids
    columns = zip(
        ids[result.src].tolist(),
        ids[result.dst].tolist(),
        result.count.tolist(),
        result.support.tolist(),
        result.confidence.tolist(),
        result.lift.tolist(),
        strict=True,
    )
    for a, b, count, support, confidence, lift in columns:
        yield {"a": a, "b": b, "count": count, "support": support, "confidence": confidence, "lift": lift}


def write_bought_with(
    store: GraphStore, baskets: Baskets, result: CopurchaseResult, run: AnalyticsRun, batch_size: int
) -> int:
    """Upsert this run's edges, then drop every edge an earlier run left, so a re-run replaces the set."""
    rows = _edge_rows(baskets, result)  # one per edge
    store.write_batches("analytics/write/write_bought_with", rows, batch_size=batch_size, **run.stamp)
    store.run_autocommit("analytics/write/delete_stale_bought_with", runId=run.run_id)
    return result.edges


# --- read ----------------------------------------------------------------------------------------


def bought_with(store: GraphStore, *, sku: str, first: int = 10) -> list[BoughtWith]:
    """Products most associated with ``sku`` (lift desc, then count), for recommendations and the API."""
    records = store.read("analytics/read/list_bought_with", sku=sku, first=first)
    return [
        BoughtWith(
            sku=r["sku"],
            name=r["name"],
            count=int(r["count"]),
            support=float(r["support"]),
            confidence=float(r["confidence"]),
            lift=float(r["lift"]),
        )
        for r in records
    ]

"""Bulk projections: read id ranges from Neo4j as flat integer lists into numpy arrays.

Internal node ids stay inside one projection (read, compute, write back in one run), where they
are stable; they are never stored or shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from personagraph.graph.store import GraphStore

IdArray = npt.NDArray[np.int64]
CHUNK = 200_000  # internal ids per read; keeps each transaction's memory small


def id_ranges(store: GraphStore, max_id_statement: str, chunk: int = CHUNK) -> Iterator[tuple[int, int]]:
    """[lo, hi) ranges covering every internal id of one label."""
    max_id = store.read(max_id_statement)[0]["maxId"]
    if max_id is None:
        return
    for lo in range(0, int(max_id) + 1, chunk):
        yield lo, lo + chunk


def read_ranges(
    store: GraphStore, statement: str, max_id_statement: str, **params: Any
) -> Iterator[dict[str, Any]]:
    """Run ``statement`` (taking $lo, $hi) over every id range; yields each range's single row."""
    for lo, hi in id_ranges(store, max_id_statement):
        for record in store.read(statement, lo=lo, hi=hi, **params):
            yield dict(record)


@dataclass(frozen=True)
class NodeIndex:
    """Dense positions 0..n-1 for internal ids, and the business keys at those positions."""

    ids: IdArray  # sorted internal ids
    keys: npt.NDArray[np.object_]

    @property
    def size(self) -> int:
        return int(self.ids.size)

    def positions(self, internal_ids: IdArray) -> npt.NDArray[np.int64]:
        """Positions of internal ids; every id must be present."""
        return np.searchsorted(self.ids, internal_ids)


def project_users(store: GraphStore) -> NodeIndex:
    ids: list[int] = []
    keys: list[str] = []
    for row in read_ranges(store, "analytics/read/project_users", "analytics/read/max_user_id"):
        ids += row["ids"]
        keys += row["keys"]
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    return NodeIndex(np.asarray(ids, dtype=np.int64)[order], np.asarray(keys, dtype=object)[order])


@dataclass(frozen=True)
class EdgeList:
    """Edges as positions into a NodeIndex, with an integer kind per edge."""

    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.int8]

    @property
    def size(self) -> int:
        return int(self.src.size)

    def weights(self, by_kind: Mapping[int, float]) -> npt.NDArray[np.float64]:
        """Each edge's weight, looked up by its kind (a kind not in ``by_kind`` weighs 0)."""
        kinds = int(self.kinds.max(initial=0)) + 1
        table = np.asarray([by_kind.get(k, 0.0) for k in range(kinds)], dtype=np.float64)
        return table[self.kinds]


def weighted_adjacency(
    edges: EdgeList, n: int, weights: dict[int, float], *, undirected_kinds: set[int]
) -> sp.csr_matrix:
    """Directed weighted adjacency (row = source); kinds in ``undirected_kinds`` count both ways."""
    w = edges.weights(weights)
    both = np.isin(edges.kinds, list(undirected_kinds))
    rows = np.concatenate([edges.src, edges.dst[both]])
    cols = np.concatenate([edges.dst, edges.src[both]])
    data = np.concatenate([w, w[both]])
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

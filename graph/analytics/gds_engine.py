"""The Graph Data Science engine's plumbing: memory checks before projecting, named graphs dropped after use.

An analysis run with ``engine="gds"`` (:mod:`graph.analytics.gds_social`,
:mod:`graph.analytics.gds_products`) asks GDS for the memory its projection and algorithm need on a
fictive graph of the real counts (``gds.<algo>.<mode>.estimate``) and refuses, before anything is
projected or written, when the worst case (``bytesMax``) exceeds the heap GDS can still use (or a
smaller ``memory_limit``). The projection lives under a unique name and is dropped however the run ends.
Community numbers from GDS are renumbered as the Python engine numbers them (0 is the largest).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)

Engine = Literal["python", "gds"]
ENGINES: tuple[Engine, ...] = ("python", "gds")


class GdsMemoryError(PersonaGraphError):
    """GDS's estimate for a projection and algorithm exceeds the heap it may use; nothing was run."""


@dataclass(frozen=True)
class MemoryEstimate:
    """What GDS expects a projection plus algorithm to take, and what it may take."""

    what: str
    bytes_min: int
    bytes_max: int
    readable: str  # GDS's range, e.g. "[178 MiB ... 203 MiB]"
    free_heap: int  # GDS's available heap when asked
    limit: int  # the smaller of the free heap and the caller's memory_limit


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def check_memory(
    store: GraphStore, statement: str, *, what: str, memory_limit: int | None = None, **params: Any
) -> MemoryEstimate:
    """Run an estimate statement (``bytesMin``, ``bytesMax``, ``requiredMemory``); raise GdsMemoryError
    when its worst case exceeds GDS's free heap or ``memory_limit`` (bytes)."""
    row = store.read(statement, **params)[0]
    free = int(store.read("analytics/read/gds_free_heap")[0]["bytes"])
    limit = free if memory_limit is None else min(free, memory_limit)
    estimate = MemoryEstimate(
        what, int(row["bytesMin"]), int(row["bytesMax"]), str(row["requiredMemory"]), free, limit
    )
    if estimate.bytes_max > limit:
        cap = "" if memory_limit is None or memory_limit >= free else f" (capped at {mib(memory_limit)})"
        raise GdsMemoryError(
            f"GDS {what} would need up to {mib(estimate.bytes_max)} of heap (estimate "
            f"{estimate.readable}, projection and algorithm) but {mib(limit)} is available{cap}: "
            f"nothing was projected or written. Give Neo4j more heap (PERSONA_NEO4J_HEAP for the local "
            f"server), run it on a dedicated GDS instance, or use --engine python."
        )
    log.info("GDS %s: estimate %s, %s available", what, estimate.readable, mib(limit))
    return estimate


@dataclass(frozen=True)
class Projection:
    """A graph in the GDS catalog: its name and size (0 nodes: nothing matched, no graph was made)."""

    graph: str
    nodes: int
    relationships: int


@contextmanager
def projected(store: GraphStore, statement: str, *, kind: str, **params: Any) -> Iterator[Projection]:
    """Project a graph with ``statement`` (taking ``$graph``, returning ``nodes`` and ``relationships``)
    under a unique name; drop it however the block ends."""
    graph = f"persona-{kind}-{uuid.uuid4().hex[:10]}"
    try:
        row = store.write_returning(statement, graph=graph, **params)[0]
        yield Projection(graph, int(row["nodes"] or 0), int(row["relationships"] or 0))
    finally:
        store.write("analytics/write/gds_drop_graph", graph=graph)


def graph_bytes(store: GraphStore, graph: str) -> int:
    """The heap a projected graph holds, as GDS measures it."""
    return int(store.read("analytics/read/gds_graph_memory", graph=graph)[0]["bytes"])


def by_size(
    node_ids: list[int], communities: list[int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Nodes sorted by internal id (the Python engine's order) and their communities renumbered by size:
    0 is the largest, ties by the community's first member (as :func:`graph.analytics.leiden.leiden`)."""
    ids = np.asarray(node_ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    raw = np.asarray(communities, dtype=np.int64)[order]
    if not raw.size:
        return ids, raw
    labels, first, dense = np.unique(raw, return_index=True, return_inverse=True)
    sizes = np.bincount(dense.ravel(), minlength=labels.size)
    relabel = np.empty(labels.size, dtype=np.int64)
    relabel[np.lexsort((first, -sizes))] = np.arange(labels.size)
    return ids, relabel[dense.ravel()]

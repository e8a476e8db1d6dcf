"""Leiden community detection (igraph's C implementation), deterministic for a seed."""

from __future__ import annotations

import random

import igraph as ig
import numpy as np
import numpy.typing as npt


def leiden(
    graph: ig.Graph, *, resolution: float = 1.0, seed: int = 42, iterations: int = 2
) -> npt.NDArray[np.int64]:
    """Modularity-optimising Leiden on an undirected graph with a "weight" edge attribute.

    Two iterations (igraph's default): on the 1M-user generated graph, ten took 2.5x as long for a
    modularity gain of 4e-5, and iterating to convergence 8.5x as long for 4e-5 more.

    Community numbers are ordered by size (0 is the largest; ties by first member).
    """
    ig.set_random_number_generator(random.Random(seed))
    try:
        clustering = graph.community_leiden(
            objective_function="modularity", weights="weight", resolution=resolution, n_iterations=iterations
        )
    finally:
        ig.set_random_number_generator(random)
    membership = np.asarray(clustering.membership, dtype=np.int64)
    if not membership.size:
        return membership
    sizes = np.bincount(membership)
    relabel = np.empty(sizes.size, dtype=np.int64)
    relabel[np.lexsort((np.arange(sizes.size), -sizes))] = np.arange(sizes.size)
    return relabel[membership]

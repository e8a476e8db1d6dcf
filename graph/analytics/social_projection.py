"""The social graph as one projection: every user and their FOLLOWS, FRIEND_OF and REFERRED ties.

Influence (:mod:`graph.analytics.influence`) and social communities
(:mod:`graph.analytics.social_communities`) both compute on it; ``persona analyze all`` reads it once
for the two (:func:`project_social`, passed to each run as ``projection``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from personagraph.graph.analytics.projection import EdgeList, NodeIndex, project_users, read_ranges
from personagraph.graph.analytics.runs import AnalyticsRun
from personagraph.graph.store import GraphStore

FOLLOWS, FRIEND_OF, REFERRED = 0, 1, 2  # the kind of each projected tie


@dataclass(frozen=True)
class SocialProjection:
    """Users and their ties, read once; influence and communities can share one."""

    users: NodeIndex
    edges: EdgeList


def project_social_edges(store: GraphStore, users: NodeIndex) -> EdgeList:
    """FOLLOWS (0), FRIEND_OF (1), REFERRED (2) ties between users, as stored (friendship once)."""
    src: list[npt.NDArray[np.int64]] = []
    dst: list[npt.NDArray[np.int64]] = []
    kinds: list[npt.NDArray[np.int8]] = []
    for row in read_ranges(store, "analytics/read/project_social_edges", "analytics/read/max_user_id"):
        src.append(users.positions(np.asarray(row["src"], dtype=np.int64)))
        dst.append(users.positions(np.asarray(row["dst"], dtype=np.int64)))
        kinds.append(np.asarray(row["kinds"], dtype=np.int8))
    if not src:
        empty = np.zeros(0, dtype=np.int64)
        return EdgeList(empty, empty, np.zeros(0, dtype=np.int8))
    return EdgeList(np.concatenate(src), np.concatenate(dst), np.concatenate(kinds))


def project_social(store: GraphStore) -> SocialProjection:
    users = project_users(store)
    return SocialProjection(users, project_social_edges(store, users))


def project_for_run(
    store: GraphStore, run: AnalyticsRun, shared: SocialProjection | None
) -> tuple[NodeIndex, EdgeList]:
    """This run's projection: the shared one when given (its time is the sharer's), else a new one."""
    if shared is None:
        with run.phase("projection"):
            shared = project_social(store)
    run.input_sizes.update(users=shared.users.size, ties=shared.edges.size)
    return shared.users, shared.edges

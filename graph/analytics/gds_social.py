"""Influence and social communities by Graph Data Science inside Neo4j, written as the Python engine does.

The projections are the Python engine's (:mod:`graph.analytics.social_projection`): every user; for
PageRank FOLLOWS and REFERRED one way and FRIEND_OF both ways, weighted by kind; for Leiden one
undirected edge per tied pair, the weights of all its ties added up. Results go back through the same
write statements, with the same run records (``engine: gds`` among the parameters) and reports, so
nothing that reads them can tell the engines apart. Differences: GDS PageRank does not spread the rank
of users without outgoing ties (the Python engine does, as networkx), and its Leiden is another
implementation (modularity agrees within 0.01 on the generated graphs). Degree and 2-hop reach are
counted by Cypher in the database.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from personagraph.graph.analytics.gds_engine import (
    MemoryEstimate,
    by_size,
    check_memory,
    graph_bytes,
    projected,
)
from personagraph.graph.analytics.influence import InfluenceReport, InfluenceWeights, ranks
from personagraph.graph.analytics.projection import read_ranges
from personagraph.graph.analytics.runs import AnalyticsRun, analytics_run
from personagraph.graph.analytics.social_communities import CommunityReport
from personagraph.graph.store import GraphStore

TIES = ("follows", "friends", "referred")


def _weights(weights: InfluenceWeights) -> dict[str, float]:
    return {"follows": weights.follows, "friend": weights.friend, "referred": weights.referred}


def _counts(store: GraphStore) -> dict[str, int]:
    row = store.read("analytics/read/gds_social_counts")[0]
    return {k: int(row[k]) for k in ("users", *TIES)}


def _record(run: AnalyticsRun, counts: dict[str, int], estimate: MemoryEstimate, used: int) -> None:
    """The Python engine's input sizes, and GDS's estimate and projected size beside them (bytes)."""
    run.input_sizes.update(
        users=counts["users"],
        ties=sum(counts[k] for k in TIES),
        gds_estimate_bytes_max=estimate.bytes_max,
        gds_graph_bytes=used,
        gds_free_heap_bytes=estimate.free_heap,
    )


@dataclass(frozen=True)
class _Users:
    """Users by internal id (sorted), with userId, distinct tied users and (when asked) 2-hop reach."""

    ids: npt.NDArray[np.int64]
    keys: list[str]
    degrees: list[int]
    reaches: list[int]


def _users(store: GraphStore, *, reach: bool) -> _Users:
    statement = "analytics/read/gds_user_reach" if reach else "analytics/read/gds_user_degrees"
    ids: list[int] = []
    keys: list[str] = []
    degrees: list[int] = []
    reaches: list[int] = []
    for row in read_ranges(store, statement, "analytics/read/max_user_id"):
        ids += row["ids"]
        keys += row["keys"]
        degrees += row["degrees"]
        reaches += row.get("reaches", [])
    order = np.argsort(np.asarray(ids, dtype=np.int64), kind="stable")
    pick = order.tolist()
    return _Users(
        np.asarray(ids, dtype=np.int64)[order],
        [keys[i] for i in pick],
        [degrees[i] for i in pick],
        [reaches[i] for i in pick] if reach else [],
    )


def run_influence_gds(
    store: GraphStore,
    *,
    weights: InfluenceWeights | None = None,
    damping: float = 0.85,
    reach: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-12,
    batch_size: int = 10_000,
    memory_limit: int | None = None,
) -> InfluenceReport:
    """GDS PageRank (normalised to sum 1, as the Python engine's scores), degree and (``reach``) 2-hop
    reach of every user, written like :func:`graph.analytics.influence.run_influence`.

    Refuses with GdsMemoryError (nothing projected or written, no run recorded) when GDS's estimate
    exceeds its free heap or ``memory_limit`` bytes.
    """
    weights = weights or InfluenceWeights()
    counts = _counts(store)
    estimate = check_memory(
        store,
        "analytics/read/gds_estimate_pagerank",
        what="PageRank",
        memory_limit=memory_limit,
        nodes=counts["users"],
        relationships=counts["follows"] + 2 * counts["friends"] + counts["referred"],
        damping=damping,
        maxIterations=max_iter,
        tolerance=tol,
    )
    params = {
        "engine": "gds",
        "weights": weights.__dict__,
        "damping": damping,
        "reach": reach,
        "shared": False,
    }
    with analytics_run(store, "influence", params) as run, ExitStack() as stack:
        with run.phase("projection"):
            graph = stack.enter_context(
                projected(store, "analytics/write/gds_project_ties", kind="influence", **_weights(weights))
            )
            used = graph_bytes(store, graph.graph) if graph.nodes else 0
        with run.phase("compute"):
            row: dict[str, Any] = {"ids": [], "scores": []}
            if graph.nodes:
                row = dict(
                    store.read(
                        "analytics/read/gds_pagerank_stream",
                        graph=graph.graph,
                        damping=damping,
                        maxIterations=max_iter,
                        tolerance=tol,
                    )[0]
                )
            stack.close()  # drop the projection before the Cypher counts and the write
        with run.phase("reach" if reach else "compute"):
            users = _users(store, reach=reach)
        scored = np.asarray(row["ids"], dtype=np.int64)
        scores = np.zeros(users.ids.size)
        scores[np.searchsorted(users.ids, scored)] = np.asarray(row["scores"], dtype=np.float64)
        total = float(scores.sum())
        scores = scores / total if total > 0 else scores
        columns: dict[str, list[Any]] = {
            "ids": users.ids.tolist(),
            "scores": scores.tolist(),
            "ranks": ranks(scores).tolist(),
            "degrees": users.degrees,
        }
        if reach:
            columns["reaches"] = users.reaches
        with run.phase("write"):
            store.write_columns(
                "analytics/write/write_influence" if reach else "analytics/write/write_influence_no_reach",
                columns,
                batch_size=batch_size,
                **run.stamp,
            )
        _record(run, counts, estimate, used)
        run.counts["users_scored"] = int(users.ids.size)
        best = np.argsort(-scores, kind="stable")[:10].tolist()
        return InfluenceReport(
            run.run_id,
            int(users.ids.size),
            run.input_sizes["ties"],
            [(users.keys[i], float(scores[i])) for i in best],
        )


def run_social_communities_gds(
    store: GraphStore,
    *,
    weights: InfluenceWeights | None = None,
    resolution: float = 1.0,
    seed: int = 42,
    min_size: int = 3,
    batch_size: int = 10_000,
    memory_limit: int | None = None,
) -> CommunityReport:
    """GDS Leiden (modularity, ``resolution`` as gamma, ``seed`` as randomSeed) written like
    :func:`graph.analytics.social_communities.run_social_communities`: communities numbered by size
    (``social-0`` the largest), groups under ``min_size`` members without one.

    Refuses with GdsMemoryError (nothing projected or written, no run recorded) when GDS's estimate
    exceeds its free heap or ``memory_limit`` bytes.
    """
    weights = weights or InfluenceWeights()
    counts = _counts(store)
    estimate = check_memory(
        store,
        "analytics/read/gds_estimate_leiden",
        what="Leiden",
        memory_limit=memory_limit,
        nodes=counts["users"],
        relationships=sum(counts[k] for k in TIES),  # pairs: at most one per tie
        resolution=resolution,
        seed=seed,
    )
    params: dict[str, Any] = {
        "engine": "gds",
        "weights": weights.__dict__,
        "resolution": resolution,
        "seed": seed,
        "min_size": min_size,
        "shared": False,
    }
    with analytics_run(store, "communities", params) as run, ExitStack() as stack:
        with run.phase("projection"):
            graph = stack.enter_context(
                projected(store, "analytics/write/gds_project_pairs", kind="communities", **_weights(weights))
            )
            used = graph_bytes(store, graph.graph) if graph.nodes else 0
        with run.phase("compute"):
            modularity, row = 0.0, dict[str, Any](ids=[], communities=[])
            if graph.nodes:
                stats = store.write_returning(
                    "analytics/write/gds_leiden_mutate", graph=graph.graph, resolution=resolution, seed=seed
                )[0]
                modularity = float(stats["modularity"])
                row = dict(store.read("analytics/read/gds_stream_communities", graph=graph.graph)[0])
            stack.close()
            ids, membership = by_size(row["ids"], row["communities"])
            sizes = np.bincount(membership) if membership.size else np.zeros(0, dtype=np.int64)
        with run.phase("write"):
            big = {int(c) for c in np.flatnonzero(sizes >= min_size)}
            labels = [f"social-{c}" if c in big else None for c in membership.tolist()]
            store.write_columns(
                "analytics/write/write_social_community",
                {"ids": ids.tolist(), "communities": labels},
                batch_size=batch_size,
                **run.stamp,
            )
        with run.phase("summarise"):
            store.write("analytics/write/replace_social_communities", minSize=min_size, **run.stamp)
        without = sum(label is None for label in labels)
        _record(run, counts, estimate, used)
        run.counts.update(
            communities=len(big), modularity_x1e6=int(modularity * 1e6), without_community=without
        )
        return CommunityReport(
            run.run_id, int(ids.size), len(big), modularity, sorted(sizes.tolist(), reverse=True), without
        )

"""Identity resolution: users sharing a hashed identity become one customer, reversibly."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import networkx as nx

from personagraph.graph.errors import NotFoundError
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolutionReport:
    customers: int  # components with two or more users
    users_linked: int  # non-canonical users now pointing at a canonical one


def resolve_identities(store: GraphStore, *, batch_size: int = 1000) -> ResolutionReport:
    """Connected components over shared identities; the smallest user id is the canonical customer.

    Evidence is kept on each (:User)-[:SAME_AS {evidence}]->(:User) link, so `split_user` can undo it.
    """
    graph: nx.Graph[str] = nx.Graph()
    for record in store.read("profiles/read/shared_identities"):
        users, kind = record["userIds"], record["kind"]
        for other in users[1:]:
            if graph.has_edge(users[0], other):
                graph[users[0]][other]["kinds"].add(kind)
            else:
                graph.add_edge(users[0], other, kinds={kind})
    rows = []
    for component in nx.connected_components(graph):
        canonical = min(component)
        evidence: dict[str, set[str]] = defaultdict(set)
        for a, b, data in graph.subgraph(component).edges(data=True):
            evidence[a] |= data["kinds"]
            evidence[b] |= data["kinds"]
        rows += [
            {"userId": user, "canonicalId": canonical, "evidence": sorted(evidence[user])}
            for user in sorted(component)
        ]
    store.write_batches("profiles/write/merge_same_as", rows, batch_size=batch_size)
    customers = nx.number_connected_components(graph)
    return ResolutionReport(customers=customers, users_linked=len(rows) - customers)


def split_user(store: GraphStore, *, user_id: str) -> int:
    """Detach one user from its customer and keep it apart; returns the links removed."""
    records = store.write_returning("profiles/write/split_identity", userId=user_id)
    if not records:
        raise NotFoundError(f"no user with id {user_id!r}")
    return int(records[0]["removed"])


def customer_members(store: GraphStore, *, customer_id: str) -> dict[str, int]:
    """User ids that make up one customer, each with its order count."""
    return {
        r["userId"]: r["orders"] for r in store.read("profiles/read/customer_members", customerId=customer_id)
    }

"""Empty a database for a fresh load (`persona wipe`): the schema and, by default, who was forgotten stay."""

from __future__ import annotations

from dataclasses import dataclass

from personagraph.graph.store import GraphStore


@dataclass(frozen=True)
class DataCounts:
    """Nodes a wipe would delete (the schema ledger apart), and how many of them are the suppression list."""

    nodes: int
    suppression: int


def data_counts(store: GraphStore) -> DataCounts:
    row = store.read("server/read/count_data")[0]
    return DataCounts(int(row["nodes"]), int(row["suppression"]))


def wipe(store: GraphStore, *, suppression: bool = False) -> None:
    """Delete every node and relationship but the schema ledger (constraints and indexes are schema, not
    data: they stay) and, unless ``suppression``, the suppression list: a user forgotten before stays
    forgotten when the same files are loaded again (docs/privacy-data.md)."""
    store.run_autocommit("server/write/wipe", suppression=suppression)

"""The one "as of" time lifecycle tiers and rule tags are judged at when none is given.

Default: the latest order or behaviour event in the graph, the data's "now" (so historic or generated
data still has recent customers, and `persona analyze segments` and `persona tags refresh` judge the
same moment); the current time when the graph has neither. `run_segments`, `refresh_tags` and the CLI
commands that print it all resolve it here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from personagraph.graph.store import GraphStore
from personagraph.graph.times import utc

Basis = Literal["given", "latest order", "latest event", "now"]


@dataclass(frozen=True)
class AsOf:
    """The time rules and tiers are judged at, and where it came from."""

    at: datetime
    basis: Basis

    def __str__(self) -> str:
        """E.g. '2025-06-28T12:00:00+00:00 (the latest order in the graph)', as the CLI prints it."""
        where = {
            "given": "given",
            "latest order": "the latest order in the graph",
            "latest event": "the latest behaviour event in the graph",
            "now": "now: the graph has no orders or events",
        }[self.basis]
        return f"{self.at.isoformat()} ({where})"


def data_time(store: GraphStore) -> AsOf | None:
    """The latest order or behaviour event in the graph (the later of the two); None when there is none."""
    record = store.read("analytics/read/data_time")[0]
    order, event = record["order"], record["event"]
    if order is not None and (event is None or utc(order) >= utc(event)):
        return AsOf(utc(order), "latest order")
    if event is not None:
        return AsOf(utc(event), "latest event")
    return None


def resolve_as_of(store: GraphStore, as_of: datetime | None = None) -> AsOf:
    """``as_of`` when given (in UTC), else the graph's data time, else now."""
    if as_of is not None:
        return AsOf(utc(as_of), "given")
    return data_time(store) or AsOf(datetime.now(UTC), "now")

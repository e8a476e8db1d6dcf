"""Times sent to Neo4j: aware and in UTC.

Naive times are taken as UTC, as the loaders read them. Aware ones are converted: Python allows UTC
offsets up to 24 hours, Neo4j refuses a parameter whose offset is over 18, and the graph stores UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from neo4j.time import DateTime

from personagraph.graph.errors import TimeRangeError


def utc(value: datetime | DateTime) -> datetime:
    """``value`` as an aware UTC datetime (a Neo4j DateTime is made native first).

    Raises TimeRangeError when the offset pushes year 1 or 9999 past the calendar.
    """
    native = value.to_native() if isinstance(value, DateTime) else value
    try:
        return (native if native.tzinfo else native.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as exc:
        raise TimeRangeError(f"{native.isoformat()} is out of range once in UTC") from exc


def aware(value: datetime | DateTime) -> datetime:
    """A time read from Neo4j (its DateTime, or a datetime) as an aware Python datetime; a zoneless one
    is taken as UTC. The one conversion every typed read uses."""
    native = value.to_native() if isinstance(value, DateTime) else value
    return native if native.tzinfo else native.replace(tzinfo=UTC)


def utc_or_now(value: datetime | DateTime | None) -> datetime:
    """``utc(value)``, or the current time when there is none (an as-of that defaults to now)."""
    return datetime.now(UTC) if value is None else utc(value)

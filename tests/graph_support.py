"""Checks on the graph's own invariants, shared by the tests of the paths that must keep them."""

from __future__ import annotations

from personagraph.graph.store import GraphStore

# u.eventHours (schema V007) against the sum of the hourCounts of the user's behaviour edges: the users whose
# hours drifted (a user without behaviour edges may have no eventHours, or all zeros).
EVENT_HOURS_DRIFT = """
MATCH (u:User)
OPTIONAL MATCH (u)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
WITH u, collect(r.hourCounts) AS edges
WITH u, [h IN range(0, 23) | reduce(s = 0, c IN edges | s + c[h])] AS summed
WHERE coalesce(u.eventHours, [h IN range(0, 23) | 0]) <> summed
RETURN u.userId AS userId, u.eventHours AS kept, summed
ORDER BY userId
"""


def event_hours_drift(store: GraphStore) -> list[dict[str, object]]:
    """The users whose eventHours differ from their edges' hours, with both (none: the invariant holds)."""
    records, _, _ = store.driver.execute_query(EVENT_HOURS_DRIFT, database_=store.database)
    return [r.data() for r in records]

"""Checks on the graph's own invariants, shared by the tests of the paths that must keep them."""

from __future__ import annotations

from personagraph.graph.store import GraphStore

# What a user carries about all their behaviour edges, against the edges: u.eventHours (schema V007), the sum
# of their hourCounts, and u.lastEventAt (V008), the latest of their lastAt. The users for whom either
# drifted (a user without behaviour edges may have no eventHours, or all zeros, and has no lastEventAt).
BEHAVIOUR_TOTALS_DRIFT = """
MATCH (u:User)
OPTIONAL MATCH (u)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
WITH u, collect(r.hourCounts) AS edges, max(r.lastAt) AS last
WITH u, [h IN range(0, 23) | reduce(s = 0, c IN edges | s + c[h])] AS summed, last
WHERE coalesce(u.eventHours, [h IN range(0, 23) | 0]) <> summed
   OR NOT (u.lastEventAt IS NULL AND last IS NULL OR u.lastEventAt = last)
RETURN u.userId AS userId, u.eventHours AS hours, summed, u.lastEventAt AS lastEventAt, last
ORDER BY userId
"""


def behaviour_totals_drift(store: GraphStore) -> list[dict[str, object]]:
    """The users whose eventHours or lastEventAt differ from their edges', with both (none: they hold)."""
    records, _, _ = store.driver.execute_query(BEHAVIOUR_TOTALS_DRIFT, database_=store.database)
    return [r.data() for r in records]

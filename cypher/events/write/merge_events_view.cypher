// merge_events_view: fold 'view' events into one VIEWED edge per user and product.
// $rows: list of {userId: str, target: str (sku), keys: list of str, ats: list of int (epoch milliseconds),
//                 hours: list of int 0-23}; one row per (userId, target), keys distinct.
// Keys already folded in are skipped, so re-loading the same events changes nothing (and writes nothing).
// The user's eventHours (their behaviour events per hour of day over every behaviour edge, V007) and
// lastEventAt (their latest behaviour event, V008) take the same new events.
// Returns folded: int (how many edges took new keys), keys: list of str (the keys that were new).
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (p:Product {sku: row.target})
// Write-lock the user before merging its edge: two loaders folding the same user's events at once would
// each find no edge and each create one; the second waits here, then merges into the first's edge.
SET u.userId = u.userId
MERGE (u)-[r:VIEWED]->(p)
ON CREATE SET r.count = 0, r.eventKeys = [], r.hourCounts = [h IN range(0, 23) | 0]
WITH u, r, row WHERE any(k IN row.keys WHERE NOT k IN r.eventKeys)
// Write-lock the edge, then read its keys again: a second loader folding the same events at the same time
// waits here and then finds them folded in (reading them only before the lock, both would add them).
SET r.count = r.count
WITH u, r, row, [i IN range(0, size(row.keys) - 1) WHERE NOT row.keys[i] IN r.eventKeys] AS fresh
WHERE size(fresh) > 0
WITH u, r, row, fresh, [i IN fresh | datetime({epochMillis: row.ats[i]})] AS ats,
     [h IN range(0, 23) | size([i IN fresh WHERE row.hours[i] = h])] AS added,
     r.hourCounts AS edgeHours  // read once: an element read in a comprehension reads it all again
SET r.count = r.count + size(fresh),
    r.eventKeys = r.eventKeys + [i IN fresh | row.keys[i]],
    r.firstAt = reduce(m = r.firstAt, t IN ats | CASE WHEN m IS NULL OR t < m THEN t ELSE m END),
    r.lastAt = reduce(m = r.lastAt, t IN ats | CASE WHEN m IS NULL OR t > m THEN t ELSE m END),
    r.hourCounts = [h IN range(0, 23) | edgeHours[h] + added[h]]
WITH u, row, fresh, ats, added
// The user's totals row by row: read in the statement's projection, two rows of one user would both start
// from the same (then stale) value.
CALL (u, ats, added) {
  WITH u, ats, added, coalesce(u.eventHours, [h IN range(0, 23) | 0]) AS userHours
  SET u.eventHours = [h IN range(0, 23) | userHours[h] + added[h]],
      u.lastEventAt = reduce(m = u.lastEventAt, t IN ats | CASE WHEN m IS NULL OR t > m THEN t ELSE m END)
}
RETURN count(*) AS folded, reduce(ks = [], k IN collect([i IN fresh | row.keys[i]]) | ks + k) AS keys

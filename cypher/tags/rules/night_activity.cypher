// tag_rule_night_activity: users whose behaviour events fall in the night hours often enough.
// $userIds: list of str; $nightHours: list of int 0-23 (in PERSONA_TIMEZONE, as hourCounts are);
// $minEvents: int; $threshold: float 0-1; $maxEvidence: int.
// Returns userId, total: int, night: int, top: list of {kind: str, target: str, count: int}
// (the edges with the most night events, most first).
// The shares come from the user's eventHours (V007: their events per hour over every behaviour edge), so
// only the users who qualify have their edges read, for the evidence.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
WITH u, coalesce(u.eventHours, []) AS hours
WITH u, reduce(s = 0, n IN hours | s + n) AS total,
     reduce(s = 0, h IN $nightHours | s + coalesce(hours[h], 0)) AS night
WHERE total >= $minEvents AND total > 0 AND toFloat(night) / total >= $threshold
CALL (u) {
  MATCH (u)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->(x)
  WITH type(r) AS kind, coalesce(x.sku, x.term) AS target, r.hourCounts AS edgeHours  // read once: an
  // element read in an expression reads the whole property again (a third of this statement's time)
  WITH kind, target, reduce(s = 0, h IN $nightHours | s + coalesce(edgeHours[h], 0)) AS count
  WHERE count > 0
  WITH kind, target, count
  ORDER BY count DESC, kind, target
  LIMIT $maxEvidence
  RETURN collect({kind: kind, target: target, count: count}) AS top
}
RETURN u.userId AS userId, total, night, top

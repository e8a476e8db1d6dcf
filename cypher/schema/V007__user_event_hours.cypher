// V007 user event hours: each user's behaviour events per hour of day, u.eventHours (24 ints, in
// PERSONA_TIMEZONE: the sum of hourCounts over the user's VIEWED, CLICKED, LIKED, COMMENTED, SHARED and
// SEARCHED edges). The merge_events_* statements keep it from here on, and forgetting a search term takes
// its edges' hours off (forget_delete_search_terms), so a rule reading a user's hours (night_activity)
// reads one property instead of every behaviour edge of the user.
// No parameters. Idempotent (recomputed from the edges), in transactions of 10,000 users.
MATCH (u:User)
WHERE EXISTS { (u)-[:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() }
CALL (u) {
  MATCH (u)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
  WITH u, collect(r.hourCounts) AS edges
  SET u.eventHours = [h IN range(0, 23) | reduce(s = 0, c IN edges | s + coalesce(c[h], 0))]
} IN TRANSACTIONS OF 10000 ROWS;

// V008 user last event: each user's latest behaviour event, u.lastEventAt (the latest lastAt of their
// VIEWED, CLICKED, LIKED, COMMENTED, SHARED and SEARCHED edges), indexed. The merge_events_* statements
// keep it from here on, and forgetting a search term recomputes it for those who searched it
// (forget_delete_search_terms), so the graph's data time (analytics/read/data_time) reads the newest
// entry of an index instead of every behaviour edge.
// No parameters. Idempotent (IF NOT EXISTS; recomputed from the edges), in transactions of 10,000 users.
CREATE INDEX user_last_event IF NOT EXISTS FOR (u:User) ON (u.lastEventAt);
MATCH (u:User)
WHERE EXISTS { (u)-[:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() }
CALL (u) {
  MATCH (u)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
  WITH u, max(r.lastAt) AS last
  SET u.lastEventAt = last
} IN TRANSACTIONS OF 10000 ROWS;

// current_event_keys: the behaviour events the given users' edges hold, one row per event key, as an
// events row names them (loaders/bulk/unchanged.py leaves out a loaded row whose key its edge holds: the
// merge_events_* statements skip such a key, so the row would change nothing).
// $keys: list of str (userId). Returns rows: list of [route ('view', 'click', 'like', 'comment', 'share' or
// 'search'), userId: str, target: str (the product's sku, or the search term), key: str (an event key)].
UNWIND $keys AS key
MATCH (u:User {userId: key})-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->(t)
WITH key, r, coalesce(t.sku, t.term) AS target,
     CASE type(r) WHEN 'VIEWED' THEN 'view' WHEN 'CLICKED' THEN 'click' WHEN 'LIKED' THEN 'like'
                  WHEN 'COMMENTED' THEN 'comment' WHEN 'SHARED' THEN 'share' ELSE 'search' END AS route
UNWIND coalesce(r.eventKeys, []) AS eventKey
RETURN collect([route, key, target, eventKey]) AS rows

// changes_prune: drop changes recorded before a time (the change log's window), at most $limit of them.
// $before: datetime, $limit: int. Returns removed: int.
MATCH (c:Change)
WHERE c.at < $before
WITH c LIMIT $limit
DETACH DELETE c
RETURN count(*) AS removed

// changes_after: changes after a cursor, in cursor order, for some users, subjects and kinds (null: all).
// $after: int, $userIds: list of str?, $subjects: list of str?, $kinds: list of str?, $limit: int.
// Returns change: map (every property of the Change node).
MATCH (c:Change)
WHERE c.seq > $after
  AND ($userIds IS NULL OR c.userId IN $userIds)
  AND ($subjects IS NULL OR c.subject IN $subjects)
  AND ($kinds IS NULL OR c.kind IN $kinds)
RETURN properties(c) AS change
ORDER BY c.seq
LIMIT $limit

// current_user_tags: the tags of the given users, as a user_tags row sets them (loaders/bulk/unchanged.py
// leaves out a loaded row that would change nothing). A tag whose times are not datetimes is left out (it
// reads as missing, so its row is written).
// $keys: list of str (userId). Returns rows: list of [userId: str, tagId: str, weight: float?, source: str?,
// assignedAt: int? (epoch milliseconds), expiresAt: int? (epoch milliseconds)].
UNWIND $keys AS key
MATCH (:User {userId: key})-[h:HAS_TAG]->(t:Tag)
WHERE (h.assignedAt IS NULL OR h.assignedAt IS :: ZONED DATETIME)
  AND (h.expiresAt IS NULL OR h.expiresAt IS :: ZONED DATETIME)
RETURN collect([key, t.tagId, h.weight, h.source, h.assignedAt.epochMillis, h.expiresAt.epochMillis]) AS rows

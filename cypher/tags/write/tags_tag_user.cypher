// tags_tag_user: give one user one tag by hand (or by a model); a rule's edge becomes this source's.
// $userId: str; $tagId: str; $weight: float 0-1; $source: str (manual|model); $assignedAt: datetime;
// $expiresAt: datetime?. Returns one row (userId, tagId, created: bool) when both exist, else none.
MATCH (u:User {userId: $userId})
MATCH (t:Tag {tagId: $tagId})
OPTIONAL MATCH (u)-[old:HAS_TAG]->(t)
WITH u, t, count(old) = 0 AS created
MERGE (u)-[h:HAS_TAG]->(t)
SET h.weight = $weight, h.source = $source, h.assignedAt = $assignedAt, h.expiresAt = $expiresAt
REMOVE h.ruleId, h.evidence, h.evaluatedAt
RETURN u.userId AS userId, t.tagId AS tagId, created

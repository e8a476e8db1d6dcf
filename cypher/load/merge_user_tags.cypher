// merge_user_tags: tag users (manual or imported tags).
// $rows: list of {userId: str, tagId: str, weight: float, source: str, assignedAt: datetime?,
//                 expiresAt: datetime?}
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (t:Tag {tagId: row.tagId})
MERGE (u)-[h:HAS_TAG]->(t)
SET h.weight = row.weight, h.source = row.source,
    h.assignedAt = coalesce(row.assignedAt, h.assignedAt, datetime()), h.expiresAt = row.expiresAt

// merge_user_tags: tag users (manual or imported tags).
// $rows: list of {userId: str, tagId: str, weight: float, source: str, assignedAt: int? (epoch milliseconds),
//                 expiresAt: int? (epoch milliseconds)}
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (t:Tag {tagId: row.tagId})
MERGE (u)-[h:HAS_TAG]->(t)
SET h.weight = row.weight, h.source = row.source,
    h.assignedAt = coalesce(CASE WHEN row.assignedAt IS NOT NULL THEN datetime({epochMillis: row.assignedAt}) END,
                            h.assignedAt, datetime()),
    h.expiresAt = CASE WHEN row.expiresAt IS NOT NULL THEN datetime({epochMillis: row.expiresAt}) END

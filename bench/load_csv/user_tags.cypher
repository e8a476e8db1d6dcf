// Baseline: user tags, as cypher/load/merge_user_tags.cypher.
// $url: file:/// URL of user_tags.csv.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, coalesce(toFloat(row.weight), 1.0) AS weight WHERE 0 <= weight <= 1
  MATCH (u:User {userId: trim(row.user_id)})
  MATCH (t:Tag {tagId: trim(row.tag_id)})
  MERGE (u)-[h:HAS_TAG]->(t)
  SET h.weight = weight, h.source = coalesce(row.source, 'manual'),
      h.assignedAt = CASE WHEN row.assigned_at =~ '\\d{4}-\\d{2}-\\d{2}.*' THEN datetime(row.assigned_at)
                          ELSE coalesce(h.assignedAt, datetime()) END,
      h.expiresAt = CASE WHEN row.expires_at =~ '\\d{4}-\\d{2}-\\d{2}.*' THEN datetime(row.expires_at) END
} IN TRANSACTIONS OF 1000 ROWS

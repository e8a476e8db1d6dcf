// tags_list: every tag (or those of one tier) with its parent, synonyms and how many users hold it.
// $tier: str? (null = all tiers); $now: datetime (edges expired before it are counted apart).
// Returns tagId, name, tier, description, parentId, synonyms, users, manual, rule, model, expired.
MATCH (t:Tag)
WHERE $tier IS NULL OR t.tier = $tier
OPTIONAL MATCH (t)-[:CHILD_OF]->(parent:Tag)
CALL (t) {
  OPTIONAL MATCH (:User)-[h:HAS_TAG]->(t)
  WITH h, h.expiresAt IS NOT NULL AND h.expiresAt < $now AS expired
  WITH h, expired, CASE WHEN h IS NULL OR expired THEN null ELSE coalesce(h.source, 'manual') END AS source
  RETURN count(source) AS users,
         count(CASE source WHEN 'manual' THEN 1 END) AS manual,
         count(CASE source WHEN 'rule' THEN 1 END) AS rule,
         count(CASE source WHEN 'model' THEN 1 END) AS model,
         count(CASE WHEN expired THEN 1 END) AS expired
}
RETURN t.tagId AS tagId, t.name AS name, t.tier AS tier, t.description AS description,
       parent.tagId AS parentId, coalesce(t.synonyms, []) AS synonyms, users, manual, rule, model, expired
ORDER BY tier, tagId

// tags_set_rule: make a rule's tag edges on the users just evaluated agree with its matches, in one
// statement: the matched users get its tag with weight and evidence (a manual or model edge, or another
// rule's edge, on the same tag is never touched), and the rule's tags leave the users it no longer gives
// them to. Only edges with source 'rule' and this ruleId are ever changed or removed.
// $rows: list of {userId: str, tagId: str, weight: float 0-1, evidence: list of str} (the matches);
// $userIds: list of str (the users evaluated); $keep: map of userId -> list of tagIds the rule gives them;
// $ruleId: str; $asOf: datetime (assignedAt of new edges, evaluatedAt of all); $expiresAt: datetime?.
// Returns userId, tagId, change: 'added', 'updated' (weight or evidence differ from before, or the edge had
// expired: audiences that skip expired tags see it again) or 'removed'; nothing for an edge confirmed as it was.
CALL () {
  UNWIND $rows AS row
  MATCH (u:User {userId: row.userId})
  MATCH (t:Tag {tagId: row.tagId})
  OPTIONAL MATCH (u)-[old:HAS_TAG]->(t)
  WITH u, t, row, old
  WHERE old IS NULL OR (old.source = 'rule' AND coalesce(old.ruleId, $ruleId) = $ruleId)
  WITH u, t, row,
       CASE
         WHEN old IS NULL THEN 'added'
         WHEN old.weight <> row.weight OR coalesce(old.evidence, []) <> row.evidence
              OR coalesce(old.expiresAt < datetime(), false) THEN 'updated'
       END AS change
  MERGE (u)-[h:HAS_TAG]->(t)
  ON CREATE SET h.assignedAt = $asOf
  SET h.source = 'rule', h.ruleId = $ruleId, h.weight = row.weight, h.evidence = row.evidence,
      h.evaluatedAt = $asOf, h.expiresAt = $expiresAt
  RETURN row.userId AS userId, row.tagId AS tagId, change
  UNION ALL
  UNWIND $userIds AS uid
  MATCH (:User {userId: uid})-[h:HAS_TAG {ruleId: $ruleId}]->(t:Tag)
  WHERE h.source = 'rule' AND NOT t.tagId IN coalesce($keep[uid], [])
  WITH h, uid, t.tagId AS tagId
  DELETE h
  RETURN uid AS userId, tagId, 'removed' AS change
}
WITH userId, tagId, change
WHERE change IS NOT NULL
RETURN userId, tagId, change

// tags_apply_rule: give the users a rule matched its tag, with weight and evidence; never touch a
// manual or model edge, or another rule's edge, on the same tag.
// $rows: list of {userId: str, tagId: str, weight: float 0-1, evidence: list of str};
// $ruleId: str; $asOf: datetime (assignedAt of new edges, evaluatedAt of all); $expiresAt: datetime?.
// Returns userId, tagId, added: bool, changed: bool (weight or evidence differ from before, or the edge
// had expired: audiences that skip expired tags see it again).
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (t:Tag {tagId: row.tagId})
OPTIONAL MATCH (u)-[old:HAS_TAG]->(t)
WITH u, t, row, old
WHERE old IS NULL OR (old.source = 'rule' AND coalesce(old.ruleId, $ruleId) = $ruleId)
WITH u, t, row, old IS NULL AS added,
     old IS NOT NULL AND (old.weight <> row.weight OR coalesce(old.evidence, []) <> row.evidence
                          OR coalesce(old.expiresAt < datetime(), false)) AS changed
MERGE (u)-[h:HAS_TAG]->(t)
ON CREATE SET h.assignedAt = $asOf
SET h.source = 'rule', h.ruleId = $ruleId, h.weight = row.weight, h.evidence = row.evidence,
    h.evaluatedAt = $asOf, h.expiresAt = $expiresAt
RETURN row.userId AS userId, row.tagId AS tagId, added, changed

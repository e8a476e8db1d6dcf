// merge_same_as: link a resolved user to its component's canonical user, with the evidence.
// $rows: list of {userId: str, canonicalId: str, evidence: list of str (identity kinds shared)}
// A link to any other canonical user is replaced; the canonical user links to nobody.
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (c:User {userId: row.canonicalId})
OPTIONAL MATCH (u)-[old:SAME_AS]->(other:User) WHERE other <> c
DELETE old
WITH u, c, row
CALL (u, c, row) {
  WITH u, c, row WHERE u <> c
  MERGE (u)-[s:SAME_AS]->(c)
  SET s.evidence = row.evidence, s.resolvedAt = coalesce(s.resolvedAt, datetime())
}
SET u.customerId = c.userId

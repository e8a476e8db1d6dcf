// forget_delete_owned: delete the nodes only a forgotten user had: identities no other user holds, their
// consent history, and search terms no other user searched. $userId: str.
// Returns identities, consentChanges, searchTerms: int (nodes deleted).
MATCH (u:User {userId: $userId})
CALL (u) {
  OPTIONAL MATCH (u)-[:HAS_IDENTITY]->(i:Identity)
  WHERE NOT EXISTS { MATCH (i)<-[:HAS_IDENTITY]-(o:User) WHERE o <> u }
  WITH collect(DISTINCT i) AS gone
  FOREACH (i IN gone | DETACH DELETE i)
  RETURN size(gone) AS identities
}
CALL (u) {
  OPTIONAL MATCH (u)-[:CONSENT_CHANGED]->(c:ConsentChange)
  WITH collect(DISTINCT c) AS gone
  FOREACH (c IN gone | DETACH DELETE c)
  RETURN size(gone) AS consentChanges
}
CALL (u) {
  OPTIONAL MATCH (u)-[:SEARCHED]->(s:SearchTerm)
  WHERE NOT EXISTS { MATCH (s)<-[:SEARCHED]-(o:User) WHERE o <> u }
  WITH collect(DISTINCT s) AS gone
  FOREACH (s IN gone | DETACH DELETE s)
  RETURN size(gone) AS searchTerms
}
RETURN identities, consentChanges, searchTerms

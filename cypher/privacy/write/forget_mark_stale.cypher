// forget_mark_stale: mark what a forgotten user's data fed into as stale, before the user goes: every user
// tied to them (analyticsStaleAt) and their social community and persona (staleAt). The next analytics run
// overwrites the scores; readers compare staleAt with the computedAt they have.
// $userId: str. Returns neighbours: int (users marked), groups: int (Community and Persona nodes marked).
MATCH (u:User {userId: $userId})
CALL (u) {
  OPTIONAL MATCH (u)-[:FRIEND_OF|FOLLOWS|REFERRED]-(n:User)
  WITH DISTINCT n
  WHERE n IS NOT NULL AND n <> u
  SET n.analyticsStaleAt = datetime()
  RETURN count(n) AS neighbours
}
CALL (u) {
  OPTIONAL MATCH (c:Community {communityId: u.socialCommunity})
  RETURN collect(c) AS communities
}
CALL (u) {
  OPTIONAL MATCH (u)-[:HAS_PERSONA]->(p:Persona)
  RETURN collect(DISTINCT p) AS personas
}
WITH neighbours, communities + personas AS groups
FOREACH (g IN groups | SET g.staleAt = datetime())
RETURN neighbours, size(groups) AS groups

// forget_delete_user: delete a forgotten user's node with every relationship it has: ties both ways,
// behaviour, tags (Tag nodes stay), identity links, PLACED, ACQUIRED_VIA, IN_AUDIENCE, HAS_PERSONA, SAME_AS,
// ANSWERED (survey answers; Question nodes stay).
// $userId: str. Returns edges: list of {type: str, n: int} (relationships deleted, by type).
MATCH (u:User {userId: $userId})
CALL (u) {
  OPTIONAL MATCH (u)-[r]-()
  WITH type(r) AS type, count(r) AS n
  WHERE type IS NOT NULL
  RETURN collect({type: type, n: n}) AS edges
}
DETACH DELETE u
RETURN edges

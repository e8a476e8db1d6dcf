// profile_ring: the next ring of a bounded breadth-first walk over social ties (either direction).
// $frontier: list of str (userIds of the last ring); $seen: list of str (userIds already in the walk);
// $fanout: int (new distinct neighbours read per frontier user: the bound that keeps hubs cheap);
// $take: int. Returns userId: str, up to $take new users by userId.
// The caller asks one more than it keeps, so a row past its budget means users were left out.
UNWIND $frontier AS fromId
MATCH (f:User {userId: fromId})
CALL (f) {
  MATCH (f)-[:FRIEND_OF|FOLLOWS|REFERRED]-(n:User)
  WHERE NOT n.userId IN $seen
  WITH DISTINCT n
  LIMIT $fanout
  RETURN n
}
WITH DISTINCT n
RETURN n.userId AS userId
ORDER BY userId
LIMIT $take

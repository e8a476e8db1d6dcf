// profile_channels: the channels each user was acquired through or ordered through.
// $userIds: list of str. Returns userId: str, channels: list of {channelId, name, kind, acquired: bool,
// acquiredAt: datetime?, orders: int}, the acquisition channel first, then by orders desc, channelId;
// no row for users with neither.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
CALL (u) {
  MATCH (u)-[:PLACED]->(o:Order)-[:VIA]->(c:Channel)
  RETURN c, count(DISTINCT o) AS orders
  UNION
  MATCH (u)-[:ACQUIRED_VIA]->(c:Channel)
  RETURN c, 0 AS orders
}
WITH userId, u, c, max(orders) AS orders
OPTIONAL MATCH (u)-[a:ACQUIRED_VIA]->(c)
WITH userId, c, a, orders
ORDER BY a IS NULL, orders DESC, c.channelId
RETURN userId,
       collect({channelId: c.channelId, name: c.name, kind: c.kind, acquired: a IS NOT NULL,
                acquiredAt: a.at, orders: orders}) AS channels

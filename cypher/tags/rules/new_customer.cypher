// tag_rule_new_customer: users whose first order (or acquisition) falls within the window before as-of.
// $userIds: list of str; $since: datetime; $asOf: datetime; $basis: 'first_order' | 'acquisition'.
// Returns userId, at: datetime (first order or acquisition), order: str?, channel: str?.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
CALL (u) {
  OPTIONAL MATCH (u)-[:PLACED]->(o:Order)
  WHERE o.orderedAt <= $asOf
  WITH o ORDER BY o.orderedAt, o.orderId LIMIT 1
  RETURN o.orderId AS firstOrder, o.orderedAt AS firstAt
}
OPTIONAL MATCH (u)-[a:ACQUIRED_VIA]->(c:Channel)
WITH u, firstOrder, firstAt, a.at AS acquiredAt, c.channelId AS channel
WITH u, channel, CASE $basis WHEN 'acquisition' THEN acquiredAt ELSE firstAt END AS at,
     CASE $basis WHEN 'acquisition' THEN null ELSE firstOrder END AS order
WHERE at IS NOT NULL AND at > $since AND at <= $asOf
RETURN u.userId AS userId, at, order, channel

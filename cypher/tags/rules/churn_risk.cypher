// tag_rule_churn_risk: users with enough orders but none in the last days before as-of.
// $userIds: list of str; $since: datetime (as-of minus the quiet days); $asOf: datetime; $minOrders: int.
// Returns userId, orders: int, lastOrder: str, lastAt: datetime.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[:PLACED]->(o:Order)
WHERE o.orderedAt <= $asOf
WITH u, o ORDER BY o.orderedAt DESC, o.orderId DESC
WITH u, count(o) AS orders, head(collect({order: o.orderId, at: o.orderedAt})) AS last
WHERE orders >= $minOrders AND last.at <= $since
RETURN u.userId AS userId, orders, last.order AS lastOrder, last.at AS lastAt

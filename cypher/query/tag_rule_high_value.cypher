// tag_rule_high_value: users whose spend over the window reaches an amount.
// $userIds: list of str; $since: datetime; $asOf: datetime; $minAmount: float; $maxEvidence: int.
// Returns userId, spend: float, orders: int, top: list of {order: str, amount: float} (largest first).
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
WHERE o.orderedAt > $since AND o.orderedAt <= $asOf
WITH u, o, sum(l.quantity * coalesce(l.unitPrice, p.price, 0.0)) AS amount
ORDER BY amount DESC, o.orderId
WITH u, sum(amount) AS spend, count(o) AS orders, collect({order: o.orderId, amount: amount}) AS top
WHERE spend >= $minAmount
RETURN u.userId AS userId, spend, orders, top[0..$maxEvidence] AS top

// tag_rule_high_value: users whose spend over the window reaches an amount.
// $userIds: list of str; $since: datetime; $asOf: datetime; $minAmount: float; $maxEvidence: int.
// Returns userId, spend: float, orders: int, top: list of {order: str, amount: float} (largest first).
// Spend is a float sum whose last bits depend on the order it is added up in, which differs from
// tag_rule_high_value_cutoff's: the 1e-6 slack keeps the buyer at the top-x% cut-off (spend == bar) in.
// A spend of 0 never holds, whatever the bar (a top-x% bar is 0 when most buyers spent nothing).
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
WHERE o.orderedAt > $since AND o.orderedAt <= $asOf
WITH u, o, sum(l.quantity * coalesce(l.unitPrice, p.price, 0.0)) AS amount
ORDER BY amount DESC, o.orderId
WITH u, sum(amount) AS spend, count(o) AS orders, collect({order: o.orderId, amount: amount}) AS top
WHERE spend > 0 AND spend >= $minAmount - 1e-6
RETURN u.userId AS userId, spend, orders, top[0..$maxEvidence] AS top

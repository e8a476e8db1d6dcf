// tag_rule_high_value: users whose spend over the window reaches an amount.
// $userIds: list of str; $since: datetime; $asOf: datetime; $minAmount: float; $maxEvidence: int.
// Returns userId, spend: float, orders: int, top: list of {order: str, amount: float} (largest first).
// Spend is summed in whole cents, as in tag_rule_high_value_cutoff, so the buyer at the top-x% cut-off
// (spend == bar) is in; the 1e-6 slack stays for a bar given as a float.
// A spend of 0 never holds, whatever the bar (a top-x% bar is 0 when most buyers spent nothing).
// Money is summed in whole cents (each line's amount rounded to the cent, docs/data-format.md, "Money"):
// integers add up exactly, so a sum is the same whatever order its lines come in.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
WHERE o.orderedAt > $since AND o.orderedAt <= $asOf
WITH u, o, sum(toInteger(round(100.0 * l.quantity * coalesce(l.unitPrice, p.price, 0.0)))) AS cents
ORDER BY cents DESC, o.orderId
WITH u, sum(cents) / 100.0 AS spend, count(o) AS orders,
     collect({order: o.orderId, amount: cents / 100.0}) AS top
WHERE spend > 0 AND spend >= $minAmount - 1e-6
RETURN u.userId AS userId, spend, orders, top[0..$maxEvidence] AS top

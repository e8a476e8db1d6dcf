// tag_rule_brand_loyal: users who spend a large share of their money on one brand, over several orders.
// $userIds: list of str; $asOf: datetime (later orders are ignored); $minOrders: int (orders holding
// the brand); $threshold: float 0-1; $maxEvidence: int.
// Returns one row per (user, brand) that holds: userId, brand: str (its name), spent: float,
// total: float, orderCount: int, orders: list of str (orders with the brand, latest first).
// Money is summed in whole cents (each line's amount rounded to the cent, docs/data-format.md, "Money"):
// integers add up exactly, so a sum is the same whatever order its lines come in.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
CALL (u) {
  MATCH (u)-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
  WHERE o.orderedAt <= $asOf
  RETURN sum(toInteger(round(100.0 * l.quantity * coalesce(l.unitPrice, p.price, 0.0)))) / 100.0 AS total
}
WITH u, total
WHERE total > 0
CALL (u, total) {
  MATCH (u)-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)-[:OF_BRAND]->(b:Brand)
  WHERE o.orderedAt <= $asOf
  WITH coalesce(b.name, b.brandId) AS brand, o, toInteger(round(100.0 * l.quantity * coalesce(l.unitPrice, p.price, 0.0))) AS cents
  ORDER BY o.orderedAt DESC, o.orderId
  WITH brand, sum(cents) / 100.0 AS spent, collect(DISTINCT o.orderId) AS orders
  WHERE size(orders) >= $minOrders AND spent / total >= $threshold
  RETURN brand, spent, size(orders) AS orderCount, orders[0..$maxEvidence] AS orders
}
RETURN u.userId AS userId, brand, spent, total, orderCount, orders
ORDER BY userId, spent DESC, brand

// tag_rule_category_lover: users who spend a large share of their money in one top-level category.
// $userIds: list of str; $asOf: datetime (later orders are ignored); $minOrders: int;
// $threshold: float 0-1; $maxEvidence: int.
// Returns one row per (user, category) that holds: userId, category: str (top-level category id),
// spent: float, total: float, orders: list of str (orders with lines in it, latest first).
// Money is summed in whole cents (each line's amount rounded to the cent, docs/data-format.md, "Money"):
// integers add up exactly, so a sum is the same whatever order its lines come in.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
CALL (u) {
  MATCH (u)-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
  WHERE o.orderedAt <= $asOf
  RETURN sum(toInteger(round(100.0 * l.quantity * coalesce(l.unitPrice, p.price, 0.0)))) / 100.0 AS total, count(DISTINCT o) AS orderCount
}
WITH u, total, orderCount
WHERE orderCount >= $minOrders AND total > 0
CALL (u, total) {
  MATCH (u)-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)-[:IN_CATEGORY]->(c:Category)
  WHERE o.orderedAt <= $asOf
  WITH split(c.categoryId, '/')[0] AS category, o, toInteger(round(100.0 * l.quantity * coalesce(l.unitPrice, p.price, 0.0))) AS cents
  ORDER BY o.orderedAt DESC, o.orderId
  WITH category, sum(cents) / 100.0 AS spent, collect(DISTINCT o.orderId) AS orders
  WHERE spent / total >= $threshold
  RETURN category, spent, orders[0..$maxEvidence] AS orders
}
RETURN u.userId AS userId, category, spent, total, orders
ORDER BY userId, spent DESC, category

// project_user_orders: order history, acquisition and last-order channel of users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns ids: list of int; values: list of [orders: int, spend: float,
// firstOrderAt: int?, lastOrderAt: int?, acquiredAt: int?, acquiredVia: int?, lastVia: int?]
// (times in epoch seconds, channels as internal ids). Spend is sum(quantity * unitPrice), a missing
// unitPrice falling back to the product's price; the last order is the latest (orderId breaks ties).
// Money is summed in whole cents (each line's amount rounded to the cent, docs/data-format.md, "Money"):
// integers add up exactly, so a sum is the same whatever order its lines come in.
MATCH (u:User) WHERE $lo <= id(u) < $hi
CALL (u) {
  OPTIONAL MATCH (u)-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
  RETURN count(DISTINCT o) AS orders,
         sum(toInteger(round(100.0 * coalesce(l.quantity, 1) * coalesce(l.unitPrice, p.price, 0.0)))) / 100.0 AS spend,
         min(o.orderedAt) AS firstAt, max(o.orderedAt) AS lastAt
}
CALL (u) {
  OPTIONAL MATCH (u)-[a:ACQUIRED_VIA]->(c:Channel)
  RETURN head(collect([a.at, id(c)])) AS acquired
}
CALL (u) {
  OPTIONAL MATCH (u)-[:PLACED]->(o:Order)
  WITH o ORDER BY o.orderedAt DESC, o.orderId DESC LIMIT 1
  OPTIONAL MATCH (o)-[:VIA]->(c:Channel)
  RETURN head(collect(id(c))) AS lastVia
}
RETURN collect(id(u)) AS ids,
       collect([orders, toFloat(spend), firstAt.epochSeconds, lastAt.epochSeconds,
                acquired[0].epochSeconds, acquired[1], lastVia]) AS values

// profile_orders_page: one keyset page of each user's orders, newest first, with their lines.
// $userIds: list of str; $limit: int (orders per user; ask one more than the page to see if more follow);
// $afterSeconds: int?, $afterMicros: int?, $afterId: str? (the key of the last order already shown:
// orderedAt as epoch seconds + microsecond, which a Python datetime holds exactly, and orderId;
// all null for the first page). Order key: orderedAt desc, then orderId asc.
// Returns userId: str, total: int (all the user's orders), orders: list of {orderId, orderedAt,
// channelId, lines: list of {sku, name, quantity, unitPrice, listPrice (the product's price, which a line
// without a unitPrice was sold at)} by sku}; no row for unknown users.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
CALL (u) {
  MATCH (u)-[:PLACED]->(o:Order)
  WITH o, o.orderedAt.epochSeconds AS seconds, o.orderedAt.microsecond AS micros
  WHERE $afterSeconds IS NULL
     OR seconds < $afterSeconds
     OR (seconds = $afterSeconds AND (micros < $afterMicros OR (micros = $afterMicros AND o.orderId > $afterId)))
  WITH o, seconds, micros
  ORDER BY seconds DESC, micros DESC, o.orderId
  LIMIT $limit
  CALL (o) {
    OPTIONAL MATCH (o)-[l:CONTAINS]->(p:Product)
    WITH l, p
    ORDER BY p.sku, l.lineId
    RETURN collect(CASE WHEN p IS NOT NULL
                   THEN {sku: p.sku, name: p.name, quantity: coalesce(l.quantity, 1), unitPrice: l.unitPrice,
                         listPrice: p.price}
                   END) AS lines
  }
  RETURN collect({orderId: o.orderId, orderedAt: o.orderedAt,
                  channelId: head(COLLECT { MATCH (o)-[:VIA]->(c:Channel) RETURN c.channelId ORDER BY c.channelId }),
                  lines: lines}) AS orders
}
RETURN userId, COUNT { (u)-[:PLACED]->() } AS total, orders

// predictions_orders: every dated order of users whose internal id is in [$lo, $hi), one entry per order,
// so a prediction run can cut the history at any time it likes (features before, labels after).
// $lo: int, $hi: int. Returns users: list of int (internal User ids); at: list of int (orderedAt, epoch
// seconds); amounts: list of float (sum of quantity x unitPrice, a missing unitPrice falling back to the
// product's price, each line rounded to the cent as in project_user_orders). Orders without a time are left out.
MATCH (u:User)-[:PLACED]->(o:Order) WHERE $lo <= id(u) < $hi AND o.orderedAt IS NOT NULL
CALL (o) {
  OPTIONAL MATCH (o)-[l:CONTAINS]->(p:Product)
  RETURN sum(toInteger(round(100.0 * coalesce(l.quantity, 1) * coalesce(l.unitPrice, p.price, 0.0)))) / 100.0
         AS amount
}
RETURN collect(id(u)) AS users, collect(o.orderedAt.epochSeconds) AS at, collect(toFloat(amount)) AS amounts

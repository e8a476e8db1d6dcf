// forget_anonymise_orders: keep the revenue of a forgotten user's orders, not whose they were. Each order
// only this user placed gets a random orderId ('anon-' + 32 hex digits), keeps only its day (orderedAt
// truncated) and loses every other property; each line gets a random lineId and keeps quantity and
// unitPrice; products and the channel stay linked. The PLACED links go with the user.
// $userId: str. Returns orders: int (orders anonymised), lines: int.
MATCH (u:User {userId: $userId})-[:PLACED]->(o:Order)
WHERE NOT EXISTS { MATCH (o)<-[:PLACED]-(other:User) WHERE other <> u }
WITH DISTINCT o
SET o = {orderId: 'anon-' + replace(randomUUID(), '-', ''),
         orderedAt: datetime.truncate('day', o.orderedAt),
         anonymised: true}
WITH o
CALL (o) {
  OPTIONAL MATCH (o)-[l:CONTAINS]->(:Product)
  WITH l WHERE l IS NOT NULL
  SET l = {lineId: replace(randomUUID(), '-', ''), quantity: l.quantity, unitPrice: l.unitPrice}
  RETURN count(l) AS lines
}
RETURN count(o) AS orders, sum(lines) AS lines

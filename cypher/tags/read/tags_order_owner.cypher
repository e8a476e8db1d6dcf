// tags_order_owner: who placed an order, to refuse recording it again for someone else.
// $orderId: str. Returns userId: str per placing user (none when the order is new).
MATCH (u:User)-[:PLACED]->(:Order {orderId: $orderId})
RETURN u.userId AS userId

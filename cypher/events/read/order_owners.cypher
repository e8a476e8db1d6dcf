// order_owners: who placed each of some orders, to refuse recording one again for someone else.
// $orderIds: list of str. Returns orderId, userId: str per (order, placing user); none for new orders.
UNWIND $orderIds AS orderId
MATCH (u:User)-[:PLACED]->(:Order {orderId: orderId})
RETURN orderId, u.userId AS userId

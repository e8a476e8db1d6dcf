// merge_order_lines: upsert orders, who placed them, their lines and the channel they came through.
// $rows: list of {orderId: str, userId: str, sku: str, orderedAt: datetime, quantity: int,
//                 unitPrice: float?, channelId: str?}; one row per (orderId, sku).
// Lines are SET, not added, so loading the same file twice changes nothing.
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (p:Product {sku: row.sku})
MERGE (o:Order {orderId: row.orderId})
SET o.orderedAt = row.orderedAt
MERGE (u)-[:PLACED]->(o)
MERGE (o)-[line:CONTAINS]->(p)
SET line.quantity = row.quantity, line.unitPrice = row.unitPrice
WITH o, row
WHERE row.channelId IS NOT NULL
MATCH (c:Channel {channelId: row.channelId})
MERGE (o)-[:VIA]->(c)

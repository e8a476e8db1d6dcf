// merge_order_lines: upsert orders, who placed them, their lines and the channel they came through.
// $rows: list of {lineId: str, orderId: str, userId: str, sku: str, orderedAt: int (epoch milliseconds),
//                 quantity: int, unitPrice: float?, channelId: str?}
// Each line is keyed by lineId, so distinct lines for one product stay apart and re-loads add nothing.
// The loader has checked that the user, product and channel exist.
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (p:Product {sku: row.sku})
MERGE (o:Order {orderId: row.orderId})
SET o.orderedAt = datetime({epochMillis: row.orderedAt})
MERGE (u)-[:PLACED]->(o)
MERGE (o)-[line:CONTAINS {lineId: row.lineId}]->(p)
SET line.quantity = row.quantity, line.unitPrice = row.unitPrice
WITH o, row
WHERE row.channelId IS NOT NULL
MATCH (c:Channel {channelId: row.channelId})
MERGE (o)-[:VIA]->(c)

// current_order_lines: the lines of the given orders, as an orders row sets them (loaders/bulk/unchanged.py
// leaves out a loaded row that would change nothing). An order placed by more than one user or through
// more than one channel, or whose time is not a datetime, reads as plain: false (its rows are written).
// $keys: list of str (orderId). Returns rows: list of [orderId: str, lineId: str, sku: str, plain: bool,
// userId: str?, orderedAt: int? (epoch milliseconds), quantity: int?, unitPrice: float?, channelId: str?].
UNWIND $keys AS key
MATCH (o:Order {orderId: key})-[line:CONTAINS]->(p:Product)
WITH key, o, line, p, [(u:User)-[:PLACED]->(o) | u.userId] AS users, [(o)-[:VIA]->(c:Channel) | c.channelId] AS via
RETURN collect([key, line.lineId, p.sku,
                size(users) = 1 AND size(via) <= 1 AND o.orderedAt IS :: ZONED DATETIME,
                users[0], CASE WHEN o.orderedAt IS :: ZONED DATETIME THEN o.orderedAt.epochMillis END,
                line.quantity, line.unitPrice, via[0]]) AS rows

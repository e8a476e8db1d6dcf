// Baseline: order lines, as cypher/load/merge_order_lines.cypher (the line key is the row's content).
// $url: file:/// URL of orders.csv.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, coalesce(toInteger(row.quantity), 1) AS quantity
  WHERE trim(coalesce(row.order_id, '')) <> '' AND quantity > 0 AND coalesce(toFloat(row.unit_price), 0.0) >= 0
    AND row.ordered_at =~ '\\d{4}-\\d{2}-\\d{2}.*'
  MATCH (u:User {userId: trim(row.user_id)})
  MATCH (p:Product {sku: trim(row.sku)})
  MERGE (o:Order {orderId: trim(row.order_id)})
  SET o.orderedAt = datetime(row.ordered_at)
  MERGE (u)-[:PLACED]->(o)
  MERGE (o)-[line:CONTAINS {lineId: row.order_id + '|' + row.sku + '|' + quantity + '|' +
                                    coalesce(row.unit_price, '') + '|' + row.ordered_at}]->(p)
  SET line.quantity = quantity, line.unitPrice = toFloat(row.unit_price)
  WITH o, row WHERE trim(coalesce(row.channel_id, '')) <> ''
  MATCH (c:Channel {channelId: trim(row.channel_id)})
  MERGE (o)-[:VIA]->(c)
} IN TRANSACTIONS OF 1000 ROWS

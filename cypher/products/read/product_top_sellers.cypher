// product_top_sellers: candidates for the most-bought products: the $pool products with the most order
// lines (a relationship degree, cheap per product), each with its exact count of distinct orders.
// $pool: int. Returns sku: str, name: str?, lines: int (CONTAINS edges), orders: int (distinct orders
// holding it, <= lines), totalOrders: int (all orders); most lines first, then sku.
// The caller knows the pool holds the true top n when the n-th best orders count beats the smallest
// lines count of the pool (no product outside it can have more orders than lines).
CALL () {
  MATCH (o:Order)
  RETURN count(o) AS totalOrders
}
MATCH (p:Product)
WITH totalOrders, p, COUNT { (p)<-[:CONTAINS]-() } AS lines
WHERE lines > 0
ORDER BY lines DESC, p.sku
LIMIT $pool
CALL (p) {
  MATCH (p)<-[:CONTAINS]-(o:Order)
  RETURN count(DISTINCT o) AS orders
}
RETURN p.sku AS sku, p.name AS name, lines, orders, totalOrders

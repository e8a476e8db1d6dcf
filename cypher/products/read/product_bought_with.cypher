// product_bought_with: the co-purchase neighbours of one product, strongest first, if the product exists.
// $sku: str, $first: int. Returns one row when the product exists, none otherwise: items: list of
// {sku: str, name: str?, count: int, confidence: float (of $sku -> sku), lift: float}, ordered by
// lift desc, then count desc, then sku ([] when no BOUGHT_WITH edge leaves the product).
MATCH (p:Product {sku: $sku})
RETURN COLLECT {
  MATCH (p)-[r:BOUGHT_WITH]->(q:Product)
  WITH q, r ORDER BY r.lift DESC, r.count DESC, q.sku LIMIT $first
  RETURN {sku: q.sku, name: q.name, count: r.count, confidence: r.confidence, lift: r.lift}
} AS items

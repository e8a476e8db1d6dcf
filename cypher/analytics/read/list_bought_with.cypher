// list_bought_with: products most often bought with one product, strongest association first.
// $sku: str, $first: int. Returns sku: str, name: str?, count: int, support: float,
// confidence: float (of $sku -> sku), lift: float; ordered by lift desc, then count desc, then sku.
MATCH (:Product {sku: $sku})-[r:BOUGHT_WITH]->(q:Product)
RETURN q.sku AS sku, q.name AS name, r.count AS count, r.support AS support,
       r.confidence AS confidence, r.lift AS lift
ORDER BY lift DESC, count DESC, sku
LIMIT $first

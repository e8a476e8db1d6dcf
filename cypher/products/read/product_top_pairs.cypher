// product_top_pairs: the strongest bought-together pairs of the last co-purchase run, each pair once.
// $first: int, $minCount: int (pairs bought together in fewer orders are left out: a lift over one or
// two baskets is noise). Returns one row per pair, lift desc, then count desc, then the skus:
// a, b: {sku, name, price, currency} (a.sku < b.sku), count: int, support: float, confidence: float
// (of a -> b), lift: float.
MATCH (a:Product)-[r:BOUGHT_WITH]->(b:Product)
WHERE a.sku < b.sku AND r.count >= $minCount
WITH a, b, r
ORDER BY r.lift DESC, r.count DESC, a.sku, b.sku
LIMIT $first
RETURN a {.sku, .name, .price, .currency} AS a, b {.sku, .name, .price, .currency} AS b,
       r.count AS count, r.support AS support, r.confidence AS confidence, r.lift AS lift

// product_partners: product_page without the product's brand, category chain and community: the
// cross-sell box's read (a product's name and price and its strongest co-purchase partners), which
// skips the category walk product_page makes. $sku: str, $first: int (1..100). Returns no row when
// the product does not exist, else sku, name, price, currency and pairs as product_page's.
MATCH (p:Product {sku: $sku})
RETURN p.sku AS sku, p.name AS name, p.price AS price, p.currency AS currency,
       COLLECT {
         MATCH (p)-[r:BOUGHT_WITH]->(q:Product)
         WITH q, r ORDER BY r.lift DESC, r.count DESC, q.sku LIMIT $first
         RETURN {sku: q.sku, name: q.name, price: q.price, currency: q.currency, count: r.count,
                 support: r.support, confidence: r.confidence, lift: r.lift}
       } AS pairs

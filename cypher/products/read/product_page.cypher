// product_page: one product with brand, category path and community, and (when $first > 0) its
// strongest co-purchase partners, in one read: what a product page or a cross-sell widget needs.
// $sku: str, $first: int (0 = no partners). Returns no row when the product does not exist, else the
// product_infos columns plus pairs: list of {sku, name, price, currency, count, support, confidence,
// lift}, ordered by lift desc, then count desc, then sku.
MATCH (p:Product {sku: $sku})
WITH p, head(COLLECT {
  MATCH (p)-[:OF_BRAND]->(b:Brand)
  RETURN coalesce(b.name, b.brandId) AS brand ORDER BY b.brandId
}) AS brand, head(COLLECT {
  MATCH (p)-[:IN_CATEGORY]->(leaf:Category)
  MATCH up = (leaf)-[:SUBCATEGORY_OF*0..]->(root:Category)
  WHERE NOT (root)-[:SUBCATEGORY_OF]->(:Category)
  RETURN nodes(up) AS chain ORDER BY length(up) DESC, leaf.categoryId
}) AS chain
RETURN p.sku AS sku, p.name AS name, p.price AS price, p.currency AS currency, brand,
       chain[0].categoryId AS categoryId,
       coalesce([c IN reverse(chain) | coalesce(c.name, c.categoryId)], []) AS categoryPath,
       p.productCommunity AS communityId,
       COLLECT {
         MATCH (p)-[r:BOUGHT_WITH]->(q:Product)
         WITH q, r ORDER BY r.lift DESC, r.count DESC, q.sku LIMIT $first
         RETURN {sku: q.sku, name: q.name, price: q.price, currency: q.currency, count: r.count,
                 support: r.support, confidence: r.confidence, lift: r.lift}
       } AS pairs

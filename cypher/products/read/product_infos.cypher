// product_infos: products by sku with their brand, category path and co-purchase community.
// $skus: list of str. Returns sku: str, name: str?, price: float?, currency: str?, brand: str?
// (Brand.name), categoryId: str? (leaf), categoryPath: list of str (category names root to leaf,
// [] without a category), communityId: str? (productCommunity); one row per sku found, any order.
// A product in several categories takes the one whose path to a root is longest, then the smallest id.
UNWIND $skus AS sku
MATCH (p:Product {sku: sku})
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
       p.productCommunity AS communityId

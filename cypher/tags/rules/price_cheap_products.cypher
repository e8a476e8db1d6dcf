// tag_rule_price_cheap_products: the products in the cheapest share of their top-level category.
// $quantile: float 0-1 (0.15 = the cheapest 15% of each top-level category's priced products).
// Returns sku: str, category: str (the top-level category id).
MATCH (p:Product)-[:IN_CATEGORY]->(c:Category)
WHERE p.price IS NOT NULL
WITH DISTINCT split(c.categoryId, '/')[0] AS category, p
ORDER BY category, p.price, p.sku
WITH category, collect(p.sku) AS skus
UNWIND skus[0..toInteger(ceil(size(skus) * $quantile))] AS sku
RETURN sku, category

// product_facts: the brand and the categories (with every ancestor category) of the given products, for
// deciding which saved audiences a user's new events can change (graph/audiences/reads.py).
// $skus: list of str. Returns sku: str, brands: list of str (brand ids), categories: list of str.
UNWIND $skus AS sku
MATCH (p:Product {sku: sku})
RETURN sku,
       COLLECT { MATCH (p)-[:OF_BRAND]->(b:Brand) RETURN DISTINCT b.brandId } AS brands,
       COLLECT {
         MATCH (p)-[:IN_CATEGORY]->(:Category)-[:SUBCATEGORY_OF*0..]->(c:Category)
         RETURN DISTINCT c.categoryId
       } AS categories

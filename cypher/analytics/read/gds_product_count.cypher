// gds_product_count: products (from the count store), sizing the GDS memory estimate of product communities.
// No parameters. Returns products: int.
MATCH (p:Product)
RETURN count(p) AS products

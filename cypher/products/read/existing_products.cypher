// existing_products: which of the given keys name an existing Product (for reference checks).
// $keys: list of str. Returns found: list of str.
UNWIND $keys AS k
MATCH (n:Product {sku: k})
RETURN collect(k) AS found

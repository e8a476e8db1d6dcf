// placeholder_products: create bare Product nodes for referenced keys (the loader's --create-missing flag).
// $keys: list of str. Placeholders carry placeholder = true until their own row arrives.
UNWIND $keys AS k
MERGE (n:Product {sku: k})
ON CREATE SET n.placeholder = true

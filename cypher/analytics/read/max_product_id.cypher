// max_product_id: the largest internal id of a Product node, to split projections into id ranges.
// No parameters. Returns maxId: int or null when there are none.
MATCH (n:Product)
RETURN max(id(n)) AS maxId

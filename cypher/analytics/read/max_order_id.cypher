// max_order_id: the largest internal id of a Order node, to split projections into id ranges.
// No parameters. Returns maxId: int or null when there are none.
MATCH (n:Order)
RETURN max(id(n)) AS maxId

// project_baskets: order lines of orders whose internal id is in [$lo, $hi), for co-purchase analysis.
// $lo: int, $hi: int. Returns orders: list of int (internal order ids), products: list of int
// (internal product ids), one pair per CONTAINS line (a product may repeat within an order).
MATCH (o:Order)-[:CONTAINS]->(p:Product) WHERE $lo <= id(o) < $hi
RETURN collect(id(o)) AS orders, collect(id(p)) AS products

// tag_rule_price_sensitive: users most of whose order lines were bargains: bought at least
// $minDiscount below list price, or a product in the cheapest quantile of its top-level category.
// $userIds: list of str; $asOf: datetime (later orders are ignored); $minDiscount: float 0-1;
// $cheap: map of sku -> top-level category id; $minOrders: int; $threshold: float 0-1;
// $maxEvidence: int. Returns userId, lines: int, bargains: int,
// found: list of {order: str, sku: str, discount: float, category: str?} (latest first).
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
WHERE o.orderedAt <= $asOf
WITH u, o, l, p,
     CASE WHEN l.unitPrice IS NOT NULL AND p.price > 0 THEN 1.0 - l.unitPrice / p.price ELSE 0.0 END AS discount,
     $cheap[p.sku] AS category
WITH u, o, l, p, discount, category, discount >= $minDiscount - 1e-9 OR category IS NOT NULL AS bargain
ORDER BY o.orderedAt DESC, o.orderId, p.sku, l.lineId
WITH u, count(l) AS lines, count(DISTINCT o) AS orders,
     count(CASE WHEN bargain THEN 1 END) AS bargains,
     collect(CASE WHEN bargain THEN {order: o.orderId, sku: p.sku, discount: discount, category: category} END)
       AS found
WHERE orders >= $minOrders AND toFloat(bargains) / lines >= $threshold
RETURN u.userId AS userId, lines, bargains, found[0..$maxEvidence] AS found

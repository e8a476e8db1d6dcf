// product_user_seeds: whether a user opted out of personalisation (PIPL art. 24) and, only when they
// did not, the distinct products they bought most recently; also whether a given product exists.
// $userId: str, $sku: str? (null = none given), $seeds: int. Returns one row when the user exists:
// optedOut: bool (personalizationOptOut is true), skuFound: bool (true when $sku is null),
// recent: list of str (skus by latest order desc, then sku; [] when opted out or nothing bought).
MATCH (u:User {userId: $userId})
WITH u, coalesce(u.personalizationOptOut = true, false) AS optedOut
RETURN optedOut,
       $sku IS NULL OR EXISTS { MATCH (:Product {sku: $sku}) } AS skuFound,
       COLLECT {
         MATCH (u)-[:PLACED]->(o:Order)-[:CONTAINS]->(p:Product)
         WHERE NOT optedOut
         WITH p, max(o.orderedAt) AS last
         ORDER BY last IS NULL, last DESC, p.sku
         LIMIT $seeds
         RETURN p.sku
       } AS recent

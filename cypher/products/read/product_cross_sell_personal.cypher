// product_cross_sell_personal: products bought with any of the seed products, scored for one user who
// has not opted out of personalisation; what the user already bought and the seeds are left out.
// $userId: str, $seeds: list of str (skus), $first: int. Returns sku: str, name: str?, score: float
// (sum over seeds of lift * confidence), seed: str (the seed adding most), count: int, confidence:
// float, lift: float (of seed -> sku), seeds: int (how many seeds add to it); ordered by score desc,
// then sku. No rows for an unknown user or one who opted out.
MATCH (u:User {userId: $userId})
WHERE NOT coalesce(u.personalizationOptOut = true, false)
WITH u, COLLECT { MATCH (u)-[:PLACED]->(:Order)-[:CONTAINS]->(b:Product) RETURN DISTINCT b } AS bought
UNWIND $seeds AS seedSku
MATCH (s:Product {sku: seedSku})-[r:BOUGHT_WITH]->(q:Product)
WHERE NOT q.sku IN $seeds AND NOT q IN bought
WITH q, seedSku, r, r.lift * r.confidence AS part
ORDER BY part DESC, seedSku
WITH q, sum(part) AS score, count(*) AS seeds,
     head(collect({seed: seedSku, count: r.count, confidence: r.confidence, lift: r.lift})) AS best
RETURN q.sku AS sku, q.name AS name, score, best.seed AS seed, best.count AS count,
       best.confidence AS confidence, best.lift AS lift, seeds
ORDER BY score DESC, sku
LIMIT $first

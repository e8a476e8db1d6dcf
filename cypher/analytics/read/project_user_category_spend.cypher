// project_user_category_spend: spend per top-level category of users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns ids: list of int (user), categories: list of str (top categoryId),
// spend: list of float; one entry per (user, top category) bought from. Spend as in project_user_orders.
// Money is summed in whole cents (each line's amount rounded to the cent, docs/data-format.md, "Money"):
// integers add up exactly, so a sum is the same whatever order its lines come in.
MATCH (u:User)-[:PLACED]->(:Order)-[l:CONTAINS]->(p:Product) WHERE $lo <= id(u) < $hi
MATCH (p)-[:IN_CATEGORY]->(:Category)-[:SUBCATEGORY_OF*0..]->(top:Category)
WHERE NOT (top)-[:SUBCATEGORY_OF]->(:Category)
WITH id(u) AS user, top.categoryId AS category,
     sum(toInteger(round(100.0 * coalesce(l.quantity, 1) * coalesce(l.unitPrice, p.price, 0.0)))) / 100.0 AS spend
RETURN collect(user) AS ids, collect(category) AS categories, collect(toFloat(spend)) AS spend

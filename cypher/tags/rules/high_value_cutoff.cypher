// tag_rule_high_value_cutoff: the spend a buyer needs over the window to be in the top share of buyers.
// $since: datetime; $asOf: datetime; $percentile: float 0-1 (0.95 = top 5%).
// Returns cutoff: float? (null without buyers), buyers: int, spenders: int (buyers who spent more than 0:
// none when no line in the window has a price, and the rule is skipped).
// Money is summed in whole cents (each line's amount rounded to the cent, docs/data-format.md, "Money"):
// integers add up exactly, so a sum is the same whatever order its lines come in.
MATCH (u:User)-[:PLACED]->(o:Order)-[l:CONTAINS]->(p:Product)
WHERE o.orderedAt > $since AND o.orderedAt <= $asOf
WITH u, sum(toInteger(round(100.0 * l.quantity * coalesce(l.unitPrice, p.price, 0.0)))) / 100.0 AS spend
RETURN percentileDisc(spend, $percentile) AS cutoff, count(u) AS buyers,
       count(CASE WHEN spend > 0 THEN 1 END) AS spenders

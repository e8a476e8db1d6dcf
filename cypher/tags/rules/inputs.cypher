// tag_rule_inputs: whether the graph holds what the rule kinds read, as of a time; a rule whose input is
// missing is skipped with the reason (graph/tags/rules/base.py GraphInputs). Each is an existence check that
// stops at its first hit.
// $asOf: datetime. Returns orders, pricedLines, listPrices, categories, brands, acquisitions, events,
// ties, surveys: bool.
RETURN
  EXISTS { MATCH (o:Order) WHERE o.orderedAt <= $asOf } AS orders,
  EXISTS {
    MATCH (o:Order)-[l:CONTAINS]->(p:Product)
    WHERE o.orderedAt <= $asOf AND l.quantity * coalesce(l.unitPrice, p.price, 0.0) > 0
  } AS pricedLines,
  EXISTS { MATCH (p:Product) WHERE p.price > 0 } AS listPrices,
  EXISTS {
    MATCH (o:Order)-[:CONTAINS]->(:Product)-[:IN_CATEGORY]->(:Category)
    WHERE o.orderedAt <= $asOf
  } AS categories,
  EXISTS {
    MATCH (o:Order)-[:CONTAINS]->(:Product)-[:OF_BRAND]->(:Brand)
    WHERE o.orderedAt <= $asOf
  } AS brands,
  EXISTS { MATCH (:User)-[a:ACQUIRED_VIA]->(:Channel) WHERE a.at <= $asOf } AS acquisitions,
  EXISTS { MATCH (:User)-[:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() } AS events,
  EXISTS { MATCH (a:User)-[:FRIEND_OF|FOLLOWS|REFERRED]-(b:User) WHERE a <> b } AS ties,
  EXISTS { MATCH (:User)-[a:ANSWERED]->(:Question) WHERE a.at <= $asOf } AS surveys

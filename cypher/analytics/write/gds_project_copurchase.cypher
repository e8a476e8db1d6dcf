// gds_project_copurchase: project the products of a co-purchase run's BOUGHT_WITH edges into a named GDS
// graph, one undirected edge per pair (whichever directions the cap kept), weighted by co-purchase count
// (as graph/analytics/product_communities.py). Only products with a kept pair are nodes.
// $graph: str (the in-memory graph's name); $runId: str (the run whose edges to project).
// Returns nodes, relationships: int (as projected: GDS stores each undirected edge twice).
MATCH (a:Product)-[r:BOUGHT_WITH]-(b:Product)
WHERE r.runId = $runId AND id(a) < id(b)
WITH a, b, max(r.count) AS count
WITH gds.graph.project($graph, a, b, {relationshipProperties: {weight: toFloat(count)}},
       {undirectedRelationshipTypes: ['*']}) AS g
RETURN g.nodeCount AS nodes, g.relationshipCount AS relationships

// gds_project_ties: project every user and their ties as influence weighs them into a named GDS graph:
// FOLLOWS and REFERRED one way, FRIEND_OF both ways (as graph/analytics/projection.py weighted_adjacency),
// the kind's weight on each edge, parallel edges kept (PageRank adds them up). Users without ties are nodes.
// $graph: str (the in-memory graph's name); $follows, $friend, $referred: float (the tie weights).
// Returns nodes, relationships: int (as projected).
MATCH (a:User)
CALL (a) {
  MATCH (a)-[r:FOLLOWS|FRIEND_OF|REFERRED]->(b:User)
  RETURN b, CASE type(r) WHEN 'FOLLOWS' THEN $follows WHEN 'FRIEND_OF' THEN $friend ELSE $referred END AS weight
  UNION ALL
  MATCH (a)<-[:FRIEND_OF]-(b:User)
  RETURN b, $friend AS weight
  UNION ALL
  RETURN null AS b, null AS weight
}
WITH gds.graph.project($graph, a, b,
       {relationshipProperties: CASE WHEN b IS NULL THEN null ELSE {weight: toFloat(weight)} END}) AS g
RETURN g.nodeCount AS nodes, g.relationshipCount AS relationships

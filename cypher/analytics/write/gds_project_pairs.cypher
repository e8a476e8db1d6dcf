// gds_project_pairs: project every user and one undirected edge per tied pair into a named GDS graph,
// weighted by the sum of the pair's tie weights over kinds and directions, self-ties left out (as
// graph/analytics/social_communities.py undirected_graph). Users without ties are nodes.
// $graph: str (the in-memory graph's name); $follows, $friend, $referred: float (the tie weights).
// Returns nodes, relationships: int (as projected: GDS stores each undirected edge twice).
MATCH (a:User)
CALL (a) {
  OPTIONAL MATCH (a)-[r:FOLLOWS|FRIEND_OF|REFERRED]-(b:User) WHERE id(a) < id(b)
  RETURN b, sum(CASE type(r) WHEN 'FOLLOWS' THEN $follows WHEN 'FRIEND_OF' THEN $friend
                 WHEN 'REFERRED' THEN $referred ELSE 0.0 END) AS weight
}
WITH gds.graph.project($graph, a, b,
       {relationshipProperties: CASE WHEN b IS NULL THEN null ELSE {weight: toFloat(weight)} END},
       {undirectedRelationshipTypes: ['*']}) AS g
RETURN g.nodeCount AS nodes, g.relationshipCount AS relationships

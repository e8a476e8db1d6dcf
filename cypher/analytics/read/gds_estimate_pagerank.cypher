// gds_estimate_pagerank: memory GDS needs to project a weighted directed graph of this size and stream
// PageRank over it (a fictive graph: nothing is read or projected).
// $nodes: int, $relationships: int (directed, as projected); $damping: float, $maxIterations: int,
// $tolerance: float. Returns bytesMin, bytesMax: int; requiredMemory: str (GDS's readable range).
CALL gds.pageRank.stream.estimate(
  {nodeCount: $nodes, relationshipCount: $relationships, nodeProjection: '*',
   relationshipProjection: {TIE: {type: '*', properties: {weight: {defaultValue: 1.0}}}}},
  {relationshipWeightProperty: 'weight', dampingFactor: $damping, maxIterations: $maxIterations,
   tolerance: $tolerance})
YIELD bytesMin, bytesMax, requiredMemory
RETURN bytesMin, bytesMax, requiredMemory

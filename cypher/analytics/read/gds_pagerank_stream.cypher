// gds_pagerank_stream: weighted PageRank over a projected graph, as columns (internal node ids).
// $graph: str; $damping: float, $maxIterations: int, $tolerance: float. Returns ids: list of int,
// scores: list of float (GDS's scale: not normalised; dangling nodes' rank is not spread).
CALL gds.pageRank.stream($graph, {relationshipWeightProperty: 'weight', dampingFactor: $damping,
                                  maxIterations: $maxIterations, tolerance: $tolerance})
YIELD nodeId, score
RETURN collect(nodeId) AS ids, collect(score) AS scores

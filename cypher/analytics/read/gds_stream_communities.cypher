// gds_stream_communities: the 'community' node property gds_leiden_mutate left in a projected graph.
// $graph: str. Returns ids: list of int (internal node ids), communities: list of int (GDS's numbers).
CALL gds.graph.nodeProperty.stream($graph, 'community')
YIELD nodeId, propertyValue
RETURN collect(nodeId) AS ids, collect(propertyValue) AS communities

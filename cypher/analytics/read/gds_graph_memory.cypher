// gds_graph_memory: the heap a projected graph holds, as GDS measures it.
// $graph: str. Returns bytes: int (sizeInBytes), nodes, relationships: int.
CALL gds.graph.list($graph)
YIELD sizeInBytes, nodeCount, relationshipCount
RETURN sizeInBytes AS bytes, nodeCount AS nodes, relationshipCount AS relationships

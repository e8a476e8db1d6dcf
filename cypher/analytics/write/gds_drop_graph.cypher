// gds_drop_graph: drop a projected graph from the GDS catalog (no error when it is already gone).
// $graph: str. Returns graphName: str (no row when there was none).
CALL gds.graph.drop($graph, false)
YIELD graphName
RETURN graphName

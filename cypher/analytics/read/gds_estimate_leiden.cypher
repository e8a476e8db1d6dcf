// gds_estimate_leiden: memory GDS needs to project a weighted undirected graph of this size and run Leiden
// over it, mutating the community into it (a fictive graph: nothing is read or projected).
// $nodes: int, $relationships: int (undirected pairs, each once); $resolution: float, $seed: int.
// Returns bytesMin, bytesMax: int; requiredMemory: str (GDS's readable range).
CALL gds.leiden.mutate.estimate(
  {nodeCount: $nodes, relationshipCount: $relationships, nodeProjection: '*',
   relationshipProjection: {PAIR: {type: '*', orientation: 'UNDIRECTED', properties: {weight: {defaultValue: 1.0}}}}},
  {relationshipWeightProperty: 'weight', mutateProperty: 'community', gamma: $resolution, randomSeed: $seed})
YIELD bytesMin, bytesMax, requiredMemory
RETURN bytesMin, bytesMax, requiredMemory

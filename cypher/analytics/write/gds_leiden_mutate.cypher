// gds_leiden_mutate: Leiden (modularity) over a projected weighted undirected graph; the community of
// each node goes into the in-memory graph as 'community' (the database is not written).
// $graph: str; $resolution: float (gamma), $seed: int (randomSeed). Returns modularity: float,
// communities: int, levels: int.
// One thread: GDS honours randomSeed only then, so the same graph gets the same communities (with 4 threads
// the modularity of the test graph came out 0.017 under the Python engine's in one run and within 0.01 in
// others); tolerance 1e-6 (default 1e-4): it keeps going while modularity still gains a little.
CALL gds.leiden.mutate($graph, {relationshipWeightProperty: 'weight', mutateProperty: 'community',
                                gamma: $resolution, randomSeed: $seed, concurrency: 1, tolerance: 1e-6})
YIELD modularity, communityCount, ranLevels
RETURN modularity, communityCount AS communities, ranLevels AS levels

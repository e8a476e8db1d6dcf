// gds_leiden_mutate: Leiden (modularity) over a projected weighted undirected graph; the community of
// each node goes into the in-memory graph as 'community' (the database is not written).
// $graph: str; $resolution: float (gamma), $seed: int (randomSeed). Returns modularity: float,
// communities: int, levels: int.
CALL gds.leiden.mutate($graph, {relationshipWeightProperty: 'weight', mutateProperty: 'community',
                                gamma: $resolution, randomSeed: $seed})
YIELD modularity, communityCount, ranLevels
RETURN modularity, communityCount AS communities, ranLevels AS levels

// delete_stale_product_communities: remove product communities that an earlier run wrote.
// $runId: str (the run whose communities stay).
MATCH (c:Community {kind: 'product'}) WHERE c.runId IS NULL OR c.runId <> $runId
DETACH DELETE c

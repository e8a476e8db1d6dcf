// delete_stale_product_memberships: unlink products from product communities of earlier runs.
// $runId: str (the run whose links stay). Products left in no product community lose productCommunity.
MATCH (p:Product)-[r:IN_COMMUNITY]->(:Community {kind: 'product'})
WHERE r.runId IS NULL OR r.runId <> $runId
DELETE r
WITH DISTINCT p
WHERE NOT EXISTS { (p)-[:IN_COMMUNITY]->(:Community {kind: 'product'}) }
REMOVE p.productCommunity

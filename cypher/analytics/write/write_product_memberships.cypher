// write_product_memberships: link products to their co-purchase community of this run.
// $rows: list of {p: int (internal product id), communityId: str}; $runId: str, $computedAt: datetime.
UNWIND $rows AS row
MATCH (p:Product) WHERE id(p) = row.p
MATCH (c:Community {communityId: row.communityId})
MERGE (p)-[r:IN_COMMUNITY]->(c)
SET r.runId = $runId, r.computedAt = $computedAt, p.productCommunity = row.communityId

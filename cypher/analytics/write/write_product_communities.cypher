// write_product_communities: upsert product communities of a co-purchase run.
// $rows: list of {communityId: str ('product-<n>'), size: int}; $runId: str, $computedAt: datetime.
// topCategories starts empty; set_product_community_categories fills it once members are linked.
UNWIND $rows AS row
MERGE (c:Community {communityId: row.communityId})
SET c.kind = 'product', c.size = row.size, c.topCategories = [], c.runId = $runId,
    c.computedAt = $computedAt

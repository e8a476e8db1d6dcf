// insight_communities_by_id: communities by id, for DataLoaders.
// $communityIds: list of str. Returns community: map {communityId, kind, size, topCity?, topTags?,
// topCategories?, runId?, computedAt?}; one row per id found, any order.
UNWIND $communityIds AS id
MATCH (c:Community {communityId: id})
RETURN c {.communityId, .kind, .size, .topCity, .topTags, .topCategories, .runId, .computedAt} AS community

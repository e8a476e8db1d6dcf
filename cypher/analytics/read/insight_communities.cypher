// insight_communities: the largest communities of one kind (index community_kind).
// $kind: 'social'|'product', $first: int. Returns community: map {communityId, kind, size,
// topCity?, topTags?, topCategories?, runId?, computedAt?}; largest first, then communityId.
MATCH (c:Community {kind: $kind})
WITH c ORDER BY coalesce(c.size, 0) DESC, c.communityId LIMIT $first
RETURN c {.communityId, .kind, .size, .topCity, .topTags, .topCategories, .runId, .computedAt} AS community

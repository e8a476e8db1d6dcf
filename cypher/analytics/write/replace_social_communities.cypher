// replace_social_communities: drop earlier social Community nodes and create this run's, with a
// summary: size, top city, top tags and top categories bought by members.
// $runId: str; $computedAt: datetime; $minSize: int (documented floor; users below it have no community).
// Each summary is one pass over all members (no per-community lookups), so it does not depend on
// index statistics that the write just made stale.
CALL () {
  MATCH (old:Community {kind: 'social'})
  DETACH DELETE old
}
MATCH (u:User)
WHERE u.socialCommunityRunId = $runId AND u.socialCommunity IS NOT NULL
WITH u.socialCommunity AS cid, u.city AS city, count(*) AS n
ORDER BY n DESC
WITH cid, sum(n) AS size, [x IN collect({city: city, n: n}) WHERE x.city IS NOT NULL][0].city AS topCity
WHERE size >= $minSize
CREATE (c:Community {communityId: cid, kind: 'social', size: size, topCity: topCity, topTags: [],
                     topCategories: [], runId: $runId, computedAt: $computedAt})
WITH count(c) AS created
CALL () {
  MATCH (u:User)-[:HAS_TAG]->(t:Tag)
  WHERE u.socialCommunityRunId = $runId AND u.socialCommunity IS NOT NULL
  WITH u.socialCommunity AS cid, t.tagId AS tag, count(*) AS n
  ORDER BY n DESC
  WITH cid, collect(tag)[0..5] AS topTags
  MATCH (c:Community {communityId: cid, kind: 'social'})
  SET c.topTags = topTags
}
CALL () {
  MATCH (u:User)-[:PLACED]->(:Order)-[:CONTAINS]->(:Product)-[:IN_CATEGORY]->(cat:Category)
  WHERE u.socialCommunityRunId = $runId AND u.socialCommunity IS NOT NULL
  WITH u.socialCommunity AS cid, cat.categoryId AS category, count(*) AS n
  ORDER BY n DESC
  WITH cid, collect(category)[0..5] AS topCategories
  MATCH (c:Community {communityId: cid, kind: 'social'})
  SET c.topCategories = topCategories
}
RETURN created

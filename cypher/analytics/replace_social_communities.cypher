// replace_social_communities: drop earlier social Community nodes and create this run's, with a
// summary: size, top city, top tags and top categories bought by members.
// $runId: str; $computedAt: datetime; $minSize: int (documented floor; users below it have no community).
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
CREATE (c:Community {communityId: cid, kind: 'social', size: size, topCity: topCity,
                     runId: $runId, computedAt: $computedAt})
WITH c
CALL (c) {
  MATCH (u:User {socialCommunity: c.communityId})-[:HAS_TAG]->(t:Tag)
  WITH t, count(*) AS n ORDER BY n DESC LIMIT 5
  RETURN collect(t.tagId) AS topTags
}
CALL (c) {
  MATCH (u:User {socialCommunity: c.communityId})-[:PLACED]->(:Order)-[:CONTAINS]->(:Product)-[:IN_CATEGORY]->(cat:Category)
  WITH cat, count(*) AS n ORDER BY n DESC LIMIT 5
  RETURN collect(cat.categoryId) AS topCategories
}
SET c.topTags = topTags, c.topCategories = topCategories

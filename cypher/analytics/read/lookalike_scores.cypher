// lookalike_scores: users most like a set of seed users, scored by what they share with the seeds.
// $seedIds: list of str; $users: int (all users, for rarity weights); $first: int;
// $maxCategories: int (the seeds' top categories considered).
// Each shared feature adds share-among-seeds x ln(users / users-with-the-feature) (rarer counts more);
// a social tie to a seed adds 0.5 per seed (the reason never names a seed). Returns userId: str,
// score: float, reasons: list of str.
MATCH (s:User) WHERE s.userId IN $seedIds
WITH collect(s) AS seeds, toFloat(count(s)) AS n
CALL (seeds, n) {
  UNWIND seeds AS s
  MATCH (s)-[:HAS_TAG]->(t:Tag)
  WITH t, n, count(*) AS hits
  WITH t, hits / n AS share
  WITH t, share, COUNT { (t)<-[:HAS_TAG]-(:User) } AS df
  MATCH (t)<-[:HAS_TAG]-(c:User)
  RETURN c, share * log(toFloat($users) / df) AS w, 'tag ' + coalesce(t.name, t.tagId) AS reason
  UNION ALL
  UNWIND seeds AS s
  MATCH (s)-[:PLACED]->(:Order)-[:CONTAINS]->(:Product)-[:IN_CATEGORY]->(cat:Category)
  WITH DISTINCT s, cat
  WITH cat, n, count(*) AS hits
  WITH cat, hits / n AS share ORDER BY share DESC LIMIT $maxCategories
  MATCH (cat)<-[:IN_CATEGORY]-(:Product)<-[:CONTAINS]-(:Order)<-[:PLACED]-(c:User)
  WITH DISTINCT cat, share, c
  WITH cat, share, collect(c) AS buyers
  UNWIND buyers AS c
  RETURN c, share * log(toFloat($users) / size(buyers)) AS w, 'buys ' + coalesce(cat.name, cat.categoryId) AS reason
  UNION ALL
  UNWIND seeds AS s
  WITH s.socialCommunity AS community, n, count(*) AS hits
  WITH community, hits / n AS share WHERE community IS NOT NULL
  MATCH (c:User {socialCommunity: community})
  WITH community, share, collect(c) AS members
  UNWIND members AS c
  RETURN c, share * log(toFloat($users) / size(members)) AS w, 'same community' AS reason
  UNION ALL
  UNWIND seeds AS s
  MATCH (s)-[:FRIEND_OF|FOLLOWS|REFERRED]-(c:User)
  RETURN c, 0.5 AS w, 'tied to seed users' AS reason
}
WITH seeds, c, w, reason WHERE NOT c IN seeds
WITH c, reason, sum(w) AS part
ORDER BY part DESC
WITH c, sum(part) AS total, collect(reason)[0..3] AS reasons
ORDER BY total DESC, c.userId
LIMIT $first
RETURN c.userId AS userId, total AS score, reasons

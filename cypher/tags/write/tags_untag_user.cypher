// tags_untag_user: remove one tag from one user, whatever its source.
// $userId: str; $tagId: str. Returns one row (userId, tagId, removed: list of str (sources removed))
// when both the user and the tag exist, else none.
MATCH (u:User {userId: $userId})
MATCH (t:Tag {tagId: $tagId})
OPTIONAL MATCH (u)-[h:HAS_TAG]->(t)
WITH u, t, collect(h) AS edges
WITH u, t, edges, [e IN edges | coalesce(e.source, 'manual')] AS sources
FOREACH (e IN edges | DELETE e)
RETURN u.userId AS userId, t.tagId AS tagId, sources AS removed

// forget_delete_search_terms: delete search terms whose text names a forgotten user (their id, email,
// phone, ...), with every SEARCHED edge to them: other users' searches for that person are data about the
// person. Those searchers are marked stale (analyticsStaleAt), as their behaviour counts changed, and the
// edges' hours are taken off their eventHours (V007) and their lastEventAt is recomputed from the edges
// they keep (V008). Runs after the forgotten user's node (and their own SEARCHED edges) went.
// $terms: list of str (SearchTerm.term). Returns terms: int (nodes deleted), searches: int (edges deleted).
UNWIND $terms AS term
MATCH (s:SearchTerm {term: term})
CALL (s) {
  OPTIONAL MATCH (s)<-[r:SEARCHED]-(o:User)
  WITH o, r
  WHERE o IS NOT NULL
  SET o.analyticsStaleAt = datetime(),
      o.eventHours = [h IN range(0, 23) | coalesce(o.eventHours[h], 0) - coalesce(r.hourCounts[h], 0)]
  RETURN count(r) AS searches, collect(o) AS searchers
}
DETACH DELETE s
WITH s, searches, searchers
CALL (searchers) {
  UNWIND searchers AS o
  OPTIONAL MATCH (o)-[e:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
  WITH o, max(e.lastAt) AS last
  SET o.lastEventAt = last
}
RETURN count(s) AS terms, sum(searches) AS searches

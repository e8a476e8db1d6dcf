// forget_scrub_candidates: nodes outside a forgotten user's own data that may hold a copy of the user id:
// analytics summaries (Community, Persona, AnalyticsRun), saved audiences (a definition can name a user),
// tags, channels, and the users tied or resolved to the forgotten user. Only nodes with a string (or list
// of strings) property containing $userId (in any case) are returned; the caller decides what really is the
// id (in an audience's id and name, the id as a word, e.g. 'aud-u1', is one).
// $userId: str. Returns id: str (elementId), labels: list of str, props: map (every property of the node).
MATCH (u:User {userId: $userId})
CALL (u) {
  MATCH (n:Community) RETURN n
  UNION
  MATCH (n:Persona) RETURN n
  UNION
  MATCH (n:AnalyticsRun) RETURN n
  UNION
  MATCH (n:Audience) RETURN n
  UNION
  MATCH (n:Tag) RETURN n
  UNION
  MATCH (n:Channel) RETURN n
  UNION
  MATCH (u)-[:FRIEND_OF|FOLLOWS|REFERRED|SAME_AS]-(n:User) RETURN n
}
WITH n, properties(n) AS props
WHERE n <> u AND any(k IN keys(props) WHERE
        (props[k] IS :: STRING AND toLower(props[k]) CONTAINS toLower($userId))
        OR (props[k] IS :: LIST<STRING> AND any(x IN props[k] WHERE toLower(x) CONTAINS toLower($userId))))
RETURN elementId(n) AS id, labels(n) AS labels, props

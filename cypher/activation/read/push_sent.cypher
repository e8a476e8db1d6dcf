// push_sent: what one push sent, a page at a time in userId order: each user's keys as sent.
// $pushId: str, $after: str (the last userId of the page before; '' for the first), $limit: int.
// Returns userId: str, keys: list of str.
MATCH (:AudiencePush {pushId: $pushId})-[s:SENT]->(u:User)
WHERE u.userId > $after
RETURN u.userId AS userId, s.keys AS keys
ORDER BY userId
LIMIT $limit

// split_identity: undo a user's merge and keep it apart from future resolutions.
// $userId: str. Returns removed: int (SAME_AS links deleted), or no row for an unknown user.
MATCH (u:User {userId: $userId})
OPTIONAL MATCH (u)-[s:SAME_AS]-(:User)
WITH u, collect(s) AS links
FOREACH (s IN links | DELETE s)
SET u.customerId = u.userId, u.identityLocked = true
RETURN size(links) AS removed

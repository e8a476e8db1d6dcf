// shared_identities: identities held by more than one user, with those users (for resolution).
// No parameters. Users with identityLocked = true (split by hand) are left out.
// Returns kind: str, userIds: list of str.
MATCH (i:Identity)<-[:HAS_IDENTITY]-(u:User)
WHERE NOT coalesce(u.identityLocked, false)
WITH i, collect(u.userId) AS userIds
WHERE size(userIds) > 1
RETURN i.kind AS kind, userIds

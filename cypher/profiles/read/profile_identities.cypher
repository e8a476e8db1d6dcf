// profile_identities: the hashed identities of several users.
// $userIds: list of str. Returns userId: str, identities: list of {kind, value} ordered by kind, value;
// no row for users without identities.
UNWIND $userIds AS userId
MATCH (:User {userId: userId})-[:HAS_IDENTITY]->(i:Identity)
WITH userId, i
ORDER BY i.kind, i.value
RETURN userId, collect({kind: i.kind, value: i.value}) AS identities

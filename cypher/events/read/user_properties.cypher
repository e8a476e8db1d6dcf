// user_properties: the stored attributes of some users, to tell which an identify changed.
// $userIds: list of str. Returns userId: str, props: map.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
RETURN userId, properties(u) AS props

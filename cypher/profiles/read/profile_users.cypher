// profile_users: the stored attributes of several users at once (for DataLoaders).
// $userIds: list of str. Returns userId: str, user: map (all User properties); no row for unknown ids.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
RETURN userId, u {.*} AS user

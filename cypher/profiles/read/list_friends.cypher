// list_friends: friends of several users at once (friendship is read undirected).
// $userIds: list of str; $limit: int per user. Returns userId: str, friends: list of maps.
UNWIND $userIds AS userId
MATCH (:User {userId: userId})-[:FRIEND_OF]-(f:User)
WITH userId, f ORDER BY f.userId
WITH userId, collect(f {.*}) AS friends
RETURN userId, friends[0..$limit] AS friends

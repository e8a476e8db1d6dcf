// tag_rule_social_connector: users tied to many distinct users (friends, follows, referrals, either way).
// $userIds: list of str; $minDegree: int.
// Returns userId, degree: int, friends: int, following: int, followers: int, referrals: int.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
WITH u, COUNT { MATCH (u)-[:FRIEND_OF|FOLLOWS|REFERRED]-(o:User) WHERE o <> u RETURN DISTINCT o } AS degree
WHERE degree >= $minDegree
RETURN u.userId AS userId, degree,
       COUNT { (u)-[:FRIEND_OF]-(:User) } AS friends,
       COUNT { (u)-[:FOLLOWS]->(:User) } AS following,
       COUNT { (u)<-[:FOLLOWS]-(:User) } AS followers,
       COUNT { (u)-[:REFERRED]->(:User) } AS referrals

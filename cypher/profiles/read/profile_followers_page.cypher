// profile_followers_page: one keyset page of the users who follow each of several users, by userId.
// $userIds: list of str; $after: str ('' for the first page; only userIds after it); $limit: int (per user;
// ask one more than the page to see whether more follow); $properties: list of str (the User properties to read).
// Returns userId: str, total: int (over all pages), users: list of lists (each user's values of $properties)
// by userId; no row for unknown users.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
CALL (u) {
  MATCH (u)<-[:FOLLOWS]-(f:User)
  WHERE f.userId > $after
  WITH DISTINCT f
  ORDER BY f.userId
  LIMIT $limit
  RETURN collect([k IN $properties | f[k]]) AS users
}
RETURN userId, COUNT { (u)<-[:FOLLOWS]-() } AS total, users

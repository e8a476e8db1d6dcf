// tags_user_page: the next page of user ids in id order, so a refresh walks all users in bounded batches.
// $after: str ('' for the first page); $limit: int. Returns userId: str.
MATCH (u:User)
WHERE u.userId > $after
RETURN u.userId AS userId
ORDER BY userId
LIMIT $limit

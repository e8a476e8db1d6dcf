// max_user_id: the largest internal id of a User node, to split projections into id ranges.
// No parameters. Returns maxId: int or null when there are none.
MATCH (n:User)
RETURN max(id(n)) AS maxId

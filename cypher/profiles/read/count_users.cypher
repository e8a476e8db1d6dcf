// count_users: how many users the graph holds.
// No parameters. Returns users: int.
MATCH (u:User)
RETURN count(u) AS users

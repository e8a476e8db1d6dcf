// get_user: one user's stored attributes.
// $userId: str. Returns user: map (all User properties) or no row.
MATCH (u:User {userId: $userId})
RETURN u {.*} AS user

// existing_users: which of the given keys name an existing User (for reference checks).
// $keys: list of str. Returns found: list of str.
UNWIND $keys AS k
MATCH (n:User {userId: k})
RETURN collect(k) AS found

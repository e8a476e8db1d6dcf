// changes_forget_user: drop every change recorded about a user (forget-me). $userId: str.
// Returns removed: int.
MATCH (c:Change {userId: $userId})
DETACH DELETE c
RETURN count(*) AS removed

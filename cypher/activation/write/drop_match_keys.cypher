// drop_match_keys: remove the platform match keys (adKeys) from a user's identities unless the user has
// advertising consent: run after an advertising consent statement, so a withdrawal takes them at once.
// $userId: str. Returns removed: int (identities that carried keys).
MATCH (u:User {userId: $userId})-[r:HAS_IDENTITY]->(:Identity)
WHERE r.adKeys IS NOT NULL AND coalesce(u.advertisingConsent, false) <> true
REMOVE r.adKeys
RETURN count(r) AS removed

// push_member_keys: the match keys of the given users that may be pushed to an ad platform: only users with
// advertising consent (advertisingConsent = true), from the adKeys their identities carry (graph/activation/).
// $userIds: list of str. Returns userId: str, keys: list of str ("<type>:<hash>"), one row per user with keys.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
WHERE u.advertisingConsent = true
MATCH (u)-[r:HAS_IDENTITY]->(:Identity)
WHERE r.adKeys IS NOT NULL
UNWIND r.adKeys AS key
WITH userId, collect(DISTINCT key) AS keys
RETURN userId, keys
ORDER BY userId

// advertising_users: the users with advertising consent, whose identities an identities file gives ad-platform
// match keys (the others' are not derived at all: graph/activation/match_keys.py). No parameters.
// Returns ids: list of str (userId).
MATCH (u:User)
WHERE u.advertisingConsent = true
RETURN collect(u.userId) AS ids

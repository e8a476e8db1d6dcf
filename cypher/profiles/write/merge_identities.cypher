// merge_identities: attach hashed identities (email, phone, device, ...) to users, with their ad-platform
// match keys while the user has advertising consent (graph/activation/, docs/privacy-data.md).
// $rows: list of {userId: str, kind: str, value: str (keyed hash, never the raw value),
//                 adKeys: list of str? (the platform hashes of the raw value, "<type>:<hash>"; null: none
//                 derived, the stored keys stay)}
// Keys are kept on the user's HAS_IDENTITY (adKeys) only when u.advertisingConsent is true; otherwise any
// stored there are removed.
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MERGE (i:Identity {kind: row.kind, value: row.value})
MERGE (u)-[r:HAS_IDENTITY]->(i)
WITH r, CASE WHEN u.advertisingConsent = true THEN coalesce(row.adKeys, r.adKeys) END AS keys
// most rows have no keys to keep and none to drop: no write (and no lock) on their relationship
WHERE keys IS NOT NULL OR r.adKeys IS NOT NULL
SET r.adKeys = CASE WHEN size(keys) > 0 THEN keys END

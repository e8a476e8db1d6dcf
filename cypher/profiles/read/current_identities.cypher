// current_identities: the hashed identities of the given users, as an identities row sets them
// (loaders/bulk/unchanged.py leaves out a loaded row that would change nothing).
// $keys: list of str (userId). Returns rows: list of [userId: str, kind: str, value: str, adKeys: list of str?]:
// adKeys is what the identity holds when the user has advertising consent ([] for none), null when the user
// has none and the identity holds no keys (a row changes nothing there), ['stale'] when it holds some anyway.
UNWIND $keys AS key
MATCH (u:User {userId: key})-[r:HAS_IDENTITY]->(i:Identity)
RETURN collect([key, i.kind, i.value,
                CASE WHEN u.advertisingConsent = true THEN coalesce(r.adKeys, [])
                     WHEN r.adKeys IS NULL THEN null
                     ELSE ['stale'] END]) AS rows

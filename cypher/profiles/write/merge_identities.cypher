// merge_identities: attach hashed identities (email, phone, device, ...) to users.
// $rows: list of {userId: str, kind: str, value: str (keyed hash, never the raw value)}
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MERGE (i:Identity {kind: row.kind, value: row.value})
MERGE (u)-[:HAS_IDENTITY]->(i)

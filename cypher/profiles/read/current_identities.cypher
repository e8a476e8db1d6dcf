// current_identities: the hashed identities of the given users, as an identities row sets them
// (loaders/bulk/unchanged.py leaves out a loaded row that would change nothing).
// $keys: list of str (userId). Returns rows: list of [userId: str, kind: str, value: str].
UNWIND $keys AS key
MATCH (:User {userId: key})-[:HAS_IDENTITY]->(i:Identity)
RETURN collect([key, i.kind, i.value]) AS rows

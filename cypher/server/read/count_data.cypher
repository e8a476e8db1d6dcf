// count_data: what `persona wipe` would delete. No parameters. Returns nodes: int (every node but the schema
// ledger), suppression: int (of them, the suppression list of forgotten users and its key check).
MATCH (n) WHERE NOT n:SchemaMigration
RETURN count(n) AS nodes, count(CASE WHEN n:Suppressed OR n:PrivacyKeyCheck THEN 1 END) AS suppression

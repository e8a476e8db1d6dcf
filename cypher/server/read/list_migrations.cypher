// list_migrations: the schema versions already applied.
// No parameters. Returns version: int, name: str, checksum: str.
MATCH (m:SchemaMigration)
RETURN m.version AS version, m.name AS name, m.checksum AS checksum
ORDER BY version

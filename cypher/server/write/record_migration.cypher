// record_migration: remember that one schema version ran.
// $version: int, $name: str, $checksum: str (sha256 of the file).
MERGE (m:SchemaMigration {version: $version})
SET m.name = $name, m.checksum = $checksum, m.appliedAt = datetime()

// wipe: `persona wipe`: delete every node and edge but the schema ledger (constraints and indexes stay) and,
// unless $suppression, the suppression list of forgotten users, in batches. $suppression: bool (delete the
// suppression list too).
MATCH (n) WHERE NOT n:SchemaMigration AND ($suppression OR NOT (n:Suppressed OR n:PrivacyKeyCheck))
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS

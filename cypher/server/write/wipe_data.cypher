// wipe_data: delete every node and edge except the schema ledger, in batches.
// No parameters. Used by tests (`persona wipe` keeps the suppression list too: server/write/wipe); schema
// constraints and indexes stay.
MATCH (n) WHERE NOT n:SchemaMigration
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS

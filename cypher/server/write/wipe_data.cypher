// wipe_data: delete every node and edge except the schema ledger, in batches (of 1,000 nodes: a user
// with thousands of edges and their event-key lists made 10,000 exceed the transaction memory limit).
// No parameters. Used by tests (`persona wipe` keeps the suppression list too: server/write/wipe); schema
// constraints and indexes stay.
MATCH (n) WHERE NOT n:SchemaMigration
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS

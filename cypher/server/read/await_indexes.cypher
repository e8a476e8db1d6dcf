// await_indexes: block until every index is online (after schema changes).
// No parameters.
CALL db.awaitIndexes(300)

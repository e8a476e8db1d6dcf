// ping: proves the database answers queries (not just the server).
// No parameters. Returns ok: 1.
RETURN 1 AS ok

// merge_ties_referred: upsert REFERRED ties between existing users.
// $rows: list of {src: str, dst: str, since: int? (epoch milliseconds)}
UNWIND $rows AS row
MATCH (a:User {userId: row.src})
MATCH (b:User {userId: row.dst})
MERGE (a)-[t:REFERRED]->(b)
SET t.since = CASE WHEN row.since IS NOT NULL THEN datetime({epochMillis: row.since}) END

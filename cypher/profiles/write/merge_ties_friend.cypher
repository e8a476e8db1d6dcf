// merge_ties_friend: upsert FRIEND_OF ties between existing users.
// $rows: list of {src: str, dst: str, since: int? (epoch milliseconds)}
// Friendship is stored once (src < dst) and read undirected.
UNWIND $rows AS row
MATCH (a:User {userId: row.src})
MATCH (b:User {userId: row.dst})
MERGE (a)-[t:FRIEND_OF]->(b)
SET t.since = CASE WHEN row.since IS NOT NULL THEN datetime({epochMillis: row.since}) END

// merge_ties_follows: upsert FOLLOWS ties between existing users.
// $rows: list of {src: str, dst: str, since: datetime?}
UNWIND $rows AS row
MATCH (a:User {userId: row.src})
MATCH (b:User {userId: row.dst})
MERGE (a)-[t:FOLLOWS]->(b)
SET t.since = row.since

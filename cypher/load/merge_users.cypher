// merge_users: upsert users and where they were acquired.
// $rows: list of {userId: str, props: map of User attributes, acquiredVia: str?, acquiredAt: int? (epoch milliseconds)}
// A user's acquisition channel is replaced, never added to, so re-loads stay idempotent.
UNWIND $rows AS row
MERGE (u:User {userId: row.userId})
SET u += row.props
REMOVE u.placeholder
WITH u, row
WHERE row.acquiredVia IS NOT NULL
MATCH (c:Channel {channelId: row.acquiredVia})
OPTIONAL MATCH (u)-[old:ACQUIRED_VIA]->(other:Channel) WHERE other <> c
DELETE old
MERGE (u)-[a:ACQUIRED_VIA]->(c)
SET a.at = CASE WHEN row.acquiredAt IS NOT NULL THEN datetime({epochMillis: row.acquiredAt}) END

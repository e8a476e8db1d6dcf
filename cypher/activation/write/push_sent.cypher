// push_sent: what a push sent, per user: (:AudiencePush)-[:SENT {keys}]->(:User), the base of the next diff.
// Forgetting a user deletes their SENT relationships with them. $pushId: str,
// $rows: list of {userId: str, keys: list of str ("<type>:<hash>", the platform's keys of that user)}.
MATCH (p:AudiencePush {pushId: $pushId})
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
CREATE (p)-[:SENT {keys: row.keys}]->(u)

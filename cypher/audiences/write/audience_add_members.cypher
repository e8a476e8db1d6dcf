// audience_add_members: mark users as members of a saved audience (IN_AUDIENCE), stamped by this refresh.
// $audienceId: str, $userIds: list of str, $stamp: str (the refresh that saw them).
MATCH (a:Audience {audienceId: $audienceId})
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
MERGE (u)-[m:IN_AUDIENCE]->(a)
SET m.stamp = $stamp

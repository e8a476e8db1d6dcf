// audience_set_members_among: make a saved audience's IN_AUDIENCE edges agree for some users, given which
// of them are members now. $audienceId: str; $rows: list of {userId: str, member: bool} (the users
// re-evaluated, one row each). Returns userId: str, change: 'entered'|'exited' for each user whose
// membership changed.
MATCH (a:Audience {audienceId: $audienceId})
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
OPTIONAL MATCH (u)-[m:IN_AUDIENCE]->(a)
WITH a, u, m, row.member AS member
WHERE member <> (m IS NOT NULL)
CALL (a, u, m, member) {
  WITH a, u, m, member WHERE member
  MERGE (u)-[n:IN_AUDIENCE]->(a)
  SET n.stamp = ''
  RETURN 'entered' AS change
  UNION
  WITH m, member WHERE NOT member
  DELETE m
  RETURN 'exited' AS change
}
RETURN u.userId AS userId, change

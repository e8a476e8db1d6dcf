// push_record: record one push of a saved audience to an ad platform (docs/activation.md).
// $push: map {pushId: str, audienceId: str, platform: str, mode: 'full' | 'diff', at: datetime, actor: str,
//             previousPushId: str?, members: int, users: int, keys: int, added: int, removed: int,
//             files: list of str (file names), folder: str}.
// Returns pushId: str.
CREATE (p:AudiencePush)
SET p = $push
WITH p
OPTIONAL MATCH (a:Audience {audienceId: $push.audienceId})
FOREACH (_ IN CASE WHEN a IS NULL THEN [] ELSE [1] END | MERGE (a)-[:PUSHED]->(p))
RETURN p.pushId AS pushId

// tags_remove_rule: take a rule's tags from the given users it no longer matches.
// $userIds: list of str (the users just evaluated); $ruleId: str;
// $keep: map of userId -> list of tagIds the rule still gives that user.
// Returns userId, tagId of each edge removed. Manual and model edges are never matched.
UNWIND $userIds AS uid
MATCH (:User {userId: uid})-[h:HAS_TAG {ruleId: $ruleId}]->(t:Tag)
WHERE h.source = 'rule' AND NOT t.tagId IN coalesce($keep[uid], [])
WITH h, uid, t.tagId AS tagId
DELETE h
RETURN uid AS userId, tagId

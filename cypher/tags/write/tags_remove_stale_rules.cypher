// tags_remove_stale_rules: take from the given users the tags of rules the rule file no longer has.
// $userIds: list of str; $ruleIds: list of str (every rule of the file).
// Returns userId, tagId, ruleId of each edge removed. Rule edges without a ruleId (imported) stay.
UNWIND $userIds AS uid
MATCH (:User {userId: uid})-[h:HAS_TAG]->(t:Tag)
WHERE h.source = 'rule' AND h.ruleId IS NOT NULL AND NOT h.ruleId IN $ruleIds
WITH h, uid, t.tagId AS tagId, h.ruleId AS ruleId
DELETE h
RETURN uid AS userId, tagId, ruleId

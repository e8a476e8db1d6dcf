// profile_tags: the tags of several users, heaviest first, optionally of one tier and without expired ones.
// $userIds: list of str; $tier: str? (null = every tier); $includeExpired: bool;
// $now: datetime (an edge whose expiresAt is before it is expired).
// Returns userId: str, tags: list of {tagId, name, tier, weight, source, ruleId, assignedAt, expiresAt,
// evidence}, ordered by weight desc then tagId; no row for users without such tags.
UNWIND $userIds AS userId
MATCH (:User {userId: userId})-[h:HAS_TAG]->(t:Tag)
WHERE ($tier IS NULL OR t.tier = $tier)
  AND ($includeExpired OR h.expiresAt IS NULL OR h.expiresAt >= $now)
WITH userId, h, t, coalesce(h.weight, 1.0) AS weight
ORDER BY weight DESC, t.tagId
RETURN userId,
       collect({tagId: t.tagId, name: t.name, tier: t.tier, weight: weight,
                source: coalesce(h.source, 'manual'), ruleId: h.ruleId, assignedAt: h.assignedAt,
                expiresAt: h.expiresAt, evidence: coalesce(h.evidence, [])}) AS tags

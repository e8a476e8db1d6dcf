// tag_rule_influencer: users whose influence rank (1 = most influential) is within the cutoff.
// $userIds: list of str; $maxRank: int.
// Returns userId, rank: int, score: float, degree: int?, reach: int?, runId: str?.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
WHERE u.influenceRank IS NOT NULL AND u.influenceRank <= $maxRank
RETURN u.userId AS userId, u.influenceRank AS rank, u.influence AS score, u.degree AS degree,
       u.reach2 AS reach, u.influenceRunId AS runId

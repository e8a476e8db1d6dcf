// write_social_community: store each user's social community (null for groups below the size floor).
// $ids: list of int (internal ids); $communities: list of str? (same length); $runId: str;
// $computedAt: datetime.
UNWIND range(0, size($ids) - 1) AS i
MATCH (u:User) WHERE id(u) = $ids[i]
SET u.socialCommunity = $communities[i], u.socialCommunityRunId = $runId,
    u.socialCommunityComputedAt = $computedAt

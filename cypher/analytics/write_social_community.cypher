// write_social_community: store each user's social community (null for groups below the size floor).
// $rows: list of {id: int (internal id), community: str?}; $runId: str; $computedAt: datetime.
UNWIND $rows AS row
MATCH (u:User) WHERE id(u) = row.id
SET u.socialCommunity = row.community, u.socialCommunityRunId = $runId,
    u.socialCommunityComputedAt = $computedAt

// write_influence: store PageRank influence, its rank, degree and 2-hop reach on users.
// $ids: list of int (internal ids from this run's projection); $scores: list of float;
// $ranks, $degrees, $reaches: lists of int, all the same length; $runId: str; $computedAt: datetime.
UNWIND range(0, size($ids) - 1) AS i
MATCH (u:User) WHERE id(u) = $ids[i]
SET u.influence = $scores[i], u.influenceRank = $ranks[i], u.degree = $degrees[i],
    u.reach2 = $reaches[i], u.influenceRunId = $runId, u.influenceComputedAt = $computedAt

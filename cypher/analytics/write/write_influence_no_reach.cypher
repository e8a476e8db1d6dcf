// write_influence_no_reach: store PageRank influence, its rank and degree on users (2-hop reach not
// computed this run, so reach2 keeps its earlier value).
// $ids: list of int (internal ids from this run's projection); $scores: list of float;
// $ranks, $degrees: lists of int, all the same length; $runId: str; $computedAt: datetime.
UNWIND range(0, size($ids) - 1) AS i
MATCH (u:User) WHERE id(u) = $ids[i]
SET u.influence = $scores[i], u.influenceRank = $ranks[i], u.degree = $degrees[i],
    u.influenceRunId = $runId, u.influenceComputedAt = $computedAt

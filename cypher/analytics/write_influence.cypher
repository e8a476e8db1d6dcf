// write_influence: store PageRank influence, its rank, degree and 2-hop reach on users.
// $rows: list of {id: int (internal id from this run's projection), score: float, rank: int,
//                 degree: int, reach: int}; $runId: str; $computedAt: datetime.
UNWIND $rows AS row
MATCH (u:User) WHERE id(u) = row.id
SET u.influence = row.score, u.influenceRank = row.rank, u.degree = row.degree, u.reach2 = row.reach,
    u.influenceRunId = $runId, u.influenceComputedAt = $computedAt

// write_user_segments: store RFM scores and the lifecycle tier on users of a segment run.
// $rows: list of {id: int (internal User id), r: int, f: int, m: int, score: str, lifecycle: str},
// $runId: str, $computedAt: datetime.
UNWIND $rows AS row
MATCH (u:User) WHERE id(u) = row.id
SET u.rfmR = row.r, u.rfmF = row.f, u.rfmM = row.m, u.rfmScore = row.score,
    u.lifecycle = row.lifecycle, u.segmentRunId = $runId, u.segmentComputedAt = $computedAt

// predictions_write_scores: store each user's predicted churn probability and expected spend, with the model
// that made them. $ids: list of int (internal User ids from this run's projection); $probabilities: list of
// float (0-1); $spends: list of float (>= 0), all the same length; $modelId: str; $trainedAt: datetime;
// $horizonDays: float; $runId: str; $computedAt: datetime.
UNWIND range(0, size($ids) - 1) AS i
MATCH (u:User) WHERE id(u) = $ids[i]
SET u.churnProbability = $probabilities[i], u.expectedSpend = $spends[i],
    u.predictionModelId = $modelId, u.predictionTrainedAt = $trainedAt,
    u.predictionHorizonDays = $horizonDays,
    u.predictionRunId = $runId, u.predictionComputedAt = $computedAt

// predictions_record_model: record on a prediction run the model it trained and that model's held-out
// metrics. $runId: str; $modelId: str; $trainedAt: datetime; $metrics: str (JSON object: AUC, Brier, MAE,
// calibration error of the model and of the baselines it was compared with, on the later window).
MATCH (r:AnalyticsRun {runId: $runId})
SET r.modelId = $modelId, r.trainedAt = $trainedAt, r.metrics = $metrics

// insight_runs: analytics runs, newest first, of every kind or of one.
// $kind: str? (null = every kind), $first: int. Returns run: map of the stored properties
// (parameters, inputSizes, timings and counts are JSON strings).
MATCH (r:AnalyticsRun)
WHERE $kind IS NULL OR r.kind = $kind
WITH r ORDER BY r.startedAt DESC, r.runId DESC LIMIT $first
RETURN properties(r) AS run

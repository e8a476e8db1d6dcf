// insight_run: one analytics run.
// $runId: str. Returns run: map of the stored properties (JSON strings as in insight_runs), or no row.
MATCH (r:AnalyticsRun {runId: $runId})
RETURN properties(r) AS run

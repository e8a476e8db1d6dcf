// create_run: record that an analytics run started.
// $runId: str, $kind: str, $parameters: str (JSON), $startedAt: datetime.
CREATE (r:AnalyticsRun {runId: $runId, kind: $kind, parameters: $parameters,
                        startedAt: $startedAt, status: 'running'})

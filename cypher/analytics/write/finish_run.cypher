// finish_run: record how an analytics run ended.
// $runId: str, $status: 'done'|'failed', $inputSizes: str (JSON), $timings: str (JSON, seconds),
// $counts: str (JSON), $error: str?, $finishedAt: datetime.
MATCH (r:AnalyticsRun {runId: $runId})
SET r.status = $status, r.inputSizes = $inputSizes, r.timings = $timings, r.counts = $counts,
    r.error = $error, r.finishedAt = $finishedAt,
    r.seconds = duration.inSeconds(r.startedAt, $finishedAt).seconds

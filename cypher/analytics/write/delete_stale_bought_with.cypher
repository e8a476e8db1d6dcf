// delete_stale_bought_with: remove co-purchase edges that an earlier run wrote, in batches.
// $runId: str (the run whose edges stay). Manages its own transactions (run it autocommit).
MATCH (:Product)-[r:BOUGHT_WITH]->(:Product) WHERE r.runId IS NULL OR r.runId <> $runId
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS

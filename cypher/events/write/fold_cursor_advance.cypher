// fold_cursor_advance: an event log is folded up to an offset; written in the fold's own transaction, so
// the graph and its cursor never disagree. Never moves back. $logId: str, $offset: int, $at: datetime.
MERGE (f:FoldCursor {logId: $logId})
ON CREATE SET f.offset = 0
SET f.offset = CASE WHEN f.offset < $offset THEN $offset ELSE f.offset END, f.foldedAt = $at

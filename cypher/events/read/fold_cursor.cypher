// fold_cursor: how far an event log has been folded into the graph (0: not yet). $logId: str.
// Returns offset: int.
OPTIONAL MATCH (f:FoldCursor {logId: $logId})
RETURN coalesce(f.offset, 0) AS offset

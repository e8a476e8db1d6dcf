// changes_latest: the cursor of the latest committed change (0 when there is none). No parameters.
OPTIONAL MATCH (s:ChangeSequence {name: 'changes'})
RETURN coalesce(s.next, 1) - 1 AS latest

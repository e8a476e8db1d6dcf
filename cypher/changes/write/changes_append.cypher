// changes_append: add changes to the change log, numbered after every change committed before them.
// $changes: list of {userId: str, kind: 'tag'|'audience'|'profile', subject: str (tag id, audience id or
//                    field), change: str ('added', 'removed', 'updated', 'entered', 'exited', 'changed'),
//                    cause: str ('event', 'rule', 'manual', 'run', ...), causeIds: list of str, ruleId: str?};
// $at: datetime. Returns first, last: int (the cursors given), or no row when $changes is empty.
// The sequence node is write-locked before it is read, and the lock is held until commit, so cursors
// are handed out in commit order: a reader that has seen cursor n has seen every change before n.
WITH $changes AS changes WHERE size(changes) > 0
MERGE (s:ChangeSequence {name: 'changes'})
ON CREATE SET s.next = 1
SET s.locked = true
WITH s, changes
SET s.next = s.next + size(changes)
WITH s.next - size(changes) AS first, changes
UNWIND range(0, size(changes) - 1) AS i
WITH first, first + i AS seq, changes[i] AS c
CREATE (:Change {
  seq: seq, at: $at, userId: c.userId, kind: c.kind, subject: c.subject, change: c.change,
  cause: c.cause, causeIds: coalesce(c.causeIds, []), ruleId: c.ruleId
})
RETURN first, max(seq) AS last

// V005 change log: what changed for whom (tags, audience membership, profiles), in commit order, and how
// far each event log has been folded into the graph (graph/changes, graph/events/fold.py).
// No parameters. Every statement is idempotent (IF NOT EXISTS).
CREATE CONSTRAINT change_seq IF NOT EXISTS FOR (c:Change) REQUIRE c.seq IS UNIQUE;
CREATE INDEX change_user IF NOT EXISTS FOR (c:Change) ON (c.userId);
CREATE INDEX change_at IF NOT EXISTS FOR (c:Change) ON (c.at);
CREATE CONSTRAINT change_sequence_name IF NOT EXISTS FOR (s:ChangeSequence) REQUIRE s.name IS UNIQUE;
CREATE CONSTRAINT fold_cursor_log IF NOT EXISTS FOR (f:FoldCursor) REQUIRE f.logId IS UNIQUE;

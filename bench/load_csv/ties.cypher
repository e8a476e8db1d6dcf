// Baseline: social ties, as cypher/load/merge_ties_*.cypher (friendship stored once, smaller id first).
// $url: file:/// URL of ties.csv.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, toLower(trim(coalesce(row.kind, ''))) AS kind, trim(row.src_user_id) AS s, trim(row.dst_user_id) AS d
  WHERE s <> d AND kind IN ['follows', 'friend', 'referred']
  WITH row, kind, CASE WHEN kind = 'friend' AND d < s THEN d ELSE s END AS src,
       CASE WHEN kind = 'friend' AND d < s THEN s ELSE d END AS dst
  MATCH (a:User {userId: src})
  MATCH (b:User {userId: dst})
  WITH a, b, kind, CASE WHEN row.since =~ '\\d{4}-\\d{2}-\\d{2}.*' THEN datetime(row.since) END AS since
  FOREACH (_ IN CASE WHEN kind = 'follows' THEN [1] ELSE [] END | MERGE (a)-[t:FOLLOWS]->(b) SET t.since = since)
  FOREACH (_ IN CASE WHEN kind = 'friend' THEN [1] ELSE [] END | MERGE (a)-[t:FRIEND_OF]->(b) SET t.since = since)
  FOREACH (_ IN CASE WHEN kind = 'referred' THEN [1] ELSE [] END | MERGE (a)-[t:REFERRED]->(b) SET t.since = since)
} IN TRANSACTIONS OF 1000 ROWS

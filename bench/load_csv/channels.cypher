// Baseline for bench/ingest.py: the same merges as cypher/load/merge_channels.cypher, server-side.
// $url: file:/// URL of channels.csv inside the server's import directory.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row WHERE trim(coalesce(row.channel_id, '')) <> ''
  MERGE (c:Channel {channelId: trim(row.channel_id)})
  SET c.name = CASE WHEN trim(coalesce(row.name, '')) <> '' THEN trim(row.name) END,
      c.kind = CASE WHEN trim(coalesce(row.kind, '')) <> '' THEN toLower(trim(row.kind)) END
} IN TRANSACTIONS OF 1000 ROWS

// Baseline: the tag taxonomy, as cypher/load/merge_tags.cypher.
// $url: file:/// URL of tags.csv.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row WHERE trim(coalesce(row.tag_id, '')) <> ''
    AND toLower(trim(coalesce(row.tier, ''))) IN ['basic', 'behavior', 'preference']
  MERGE (t:Tag {tagId: trim(row.tag_id)})
  SET t.name = coalesce(row.name, row.tag_id), t.tier = toLower(trim(row.tier)), t.description = row.description
  FOREACH (_ IN CASE WHEN trim(coalesce(row.parent_id, '')) <> '' THEN [1] ELSE [] END |
    MERGE (parent:Tag {tagId: trim(row.parent_id)})
    MERGE (t)-[:CHILD_OF]->(parent))
} IN TRANSACTIONS OF 1000 ROWS

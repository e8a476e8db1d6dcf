// merge_tags: upsert the tag taxonomy; a parent named before it is defined is created bare.
// $rows: list of {tagId: str, props: {name, tier, description}, parentId: str?}
UNWIND $rows AS row
MERGE (t:Tag {tagId: row.tagId})
SET t += row.props
REMOVE t.placeholder
WITH t, row
OPTIONAL MATCH (t)-[old:CHILD_OF]->(other:Tag) WHERE other.tagId <> coalesce(row.parentId, '')
DELETE old
WITH t, row
WHERE row.parentId IS NOT NULL
MERGE (parent:Tag {tagId: row.parentId})
MERGE (t)-[:CHILD_OF]->(parent)

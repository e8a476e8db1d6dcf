// tags_upsert: create or update one tag of the taxonomy with its synonyms and (replaced) parent.
// $tagId: str; $props: {name: str, tier: str, description: str?, synonyms: list of str};
// $parentId: str? (must exist; the caller checked it and that no cycle forms).
// Returns tagId: str, created: bool.
OPTIONAL MATCH (existing:Tag {tagId: $tagId})
WITH existing IS NULL AS created
MERGE (t:Tag {tagId: $tagId})
SET t += $props
REMOVE t.placeholder
WITH t, created
CALL (t) {
  OPTIONAL MATCH (t)-[old:CHILD_OF]->(other:Tag) WHERE other.tagId <> coalesce($parentId, '')
  DELETE old
}
CALL (t) {
  OPTIONAL MATCH (parent:Tag {tagId: $parentId})
  WITH parent WHERE parent IS NOT NULL
  MERGE (t)-[:CHILD_OF]->(parent)
}
RETURN t.tagId AS tagId, created

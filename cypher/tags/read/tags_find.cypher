// tags_find: the tags a text names, by id or by synonym (synonyms compare case-insensitively).
// $text: str. Returns tagId, name, tier, description, parentId, synonyms, exact: bool (the id itself).
MATCH (t:Tag)
WHERE t.tagId = $text OR any(s IN coalesce(t.synonyms, []) WHERE toLower(s) = toLower($text))
OPTIONAL MATCH (t)-[:CHILD_OF]->(parent:Tag)
RETURN t.tagId AS tagId, t.name AS name, t.tier AS tier, t.description AS description,
       parent.tagId AS parentId, coalesce(t.synonyms, []) AS synonyms, t.tagId = $text AS exact
ORDER BY exact DESC, tagId

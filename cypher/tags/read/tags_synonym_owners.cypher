// tags_synonym_owners: which other tags already use one of the given names as id or synonym.
// $tagId: str (the tag being defined, excluded); $names: list of str (lower-cased synonyms).
// Returns tagId, name: the other tag and the clashing name.
UNWIND $names AS name
MATCH (t:Tag)
WHERE t.tagId <> $tagId
  AND (toLower(t.tagId) = name OR any(s IN coalesce(t.synonyms, []) WHERE toLower(s) = name))
RETURN t.tagId AS tagId, name

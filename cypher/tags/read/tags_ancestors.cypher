// tags_ancestors: a tag and every tag above it, to refuse a parent that would make a cycle.
// $tagId: str. Returns found: bool (the tag exists), ancestors: list of str (itself first).
OPTIONAL MATCH (t:Tag {tagId: $tagId})
OPTIONAL MATCH (t)-[:CHILD_OF*0..]->(up:Tag)
RETURN t IS NOT NULL AS found, collect(DISTINCT up.tagId) AS ancestors

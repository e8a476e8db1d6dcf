// existing_tags: which of the given keys name an existing Tag (for reference checks).
// $keys: list of str. Returns found: list of str.
UNWIND $keys AS k
MATCH (n:Tag {tagId: k})
RETURN collect(k) AS found

// placeholder_tags: create bare Tag nodes for referenced keys (the loader's --create-missing flag).
// $keys: list of str. Placeholders carry placeholder = true until their own row arrives.
UNWIND $keys AS k
MERGE (n:Tag {tagId: k})
ON CREATE SET n.placeholder = true

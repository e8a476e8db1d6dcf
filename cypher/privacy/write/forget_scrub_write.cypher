// forget_scrub_write: replace the properties of nodes that held a copy of a forgotten user's id.
// $rows: list of {id: str (elementId), props: map (the node's full new properties)}.
UNWIND $rows AS row
MATCH (n)
WHERE elementId(n) = row.id
SET n = row.props

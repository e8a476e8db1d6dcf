// audience_save: create or update a saved audience and append one entry to its count history.
// $audienceId: str, $name: str, $owner: str, $purpose: str, $definition: str (canonical JSON),
// $count: int, $countedAt: datetime, $cap: int (history entries kept).
// A changed definition starts a new history. Returns the audience's stored properties as `audience`.
MERGE (a:Audience {audienceId: $audienceId})
ON CREATE SET a.createdAt = $countedAt
WITH a, a.definition = $definition AND a.purpose = $purpose AS same
SET a.name = $name, a.owner = $owner, a.purpose = $purpose, a.definition = $definition,
    a.updatedAt = $countedAt,
    a.counts = (CASE WHEN same THEN coalesce(a.counts, []) ELSE [] END + [$count])[-$cap..],
    a.countedAt = (CASE WHEN same THEN coalesce(a.countedAt, []) ELSE [] END + [$countedAt])[-$cap..]
RETURN properties(a) AS audience

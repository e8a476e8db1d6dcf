// delete_old_personas: remove Persona nodes (and their links) of every run but the given one.
// $runId: str. Returns deleted: int.
MATCH (p:Persona) WHERE p.runId <> $runId OR p.runId IS NULL
DETACH DELETE p
RETURN count(*) AS deleted

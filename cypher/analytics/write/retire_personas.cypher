// retire_personas: record the personas a run did not find again, so their ids are never given to another
// cluster (persona_ids_used reads them) and a reader can say what an old id meant.
// $rows: list of {personaId: str, name: str, description: str, size: int, lastRunId: str}; $runId: str
// (the run that retired them); $computedAt: datetime.
UNWIND $rows AS row
MERGE (r:RetiredPersona {personaId: row.personaId})
SET r.name = row.name, r.description = row.description, r.size = row.size, r.lastRunId = row.lastRunId,
    r.retiredRunId = $runId, r.retiredAt = $computedAt

// create_personas: create the Persona nodes of one persona run (older runs' are removed afterwards).
// $rows: list of {personaId: str, name: str, description: str, size: int}, $runId: str,
// $computedAt: datetime.
UNWIND $rows AS row
CREATE (:Persona {personaId: row.personaId, name: row.name, description: row.description,
                  size: row.size, runId: $runId, computedAt: $computedAt})

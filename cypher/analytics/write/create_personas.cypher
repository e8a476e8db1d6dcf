// create_personas: create the Persona nodes of one persona run (older runs' are removed afterwards).
// $rows: list of {personaId: str, name: str, description: str, size: int, firstRunId: str (the run that
// first found the persona), centroid: list of float (raw feature means), motto: str (in the customer's
// voice), traits: list of str, topCategories: list of str, topChannels: list of str (channel kinds)};
// $features: list of str (the centroid's feature keys); $runId: str; $computedAt: datetime.
UNWIND $rows AS row
CREATE (:Persona {personaId: row.personaId, name: row.name, description: row.description,
                  size: row.size, runId: $runId, computedAt: $computedAt, firstRunId: row.firstRunId,
                  centroid: row.centroid, features: $features, motto: row.motto, traits: row.traits,
                  topCategories: row.topCategories, topChannels: row.topChannels})

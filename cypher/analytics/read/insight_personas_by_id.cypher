// insight_personas_by_id: personas by id, for DataLoaders; the newest run's persona wins an id.
// $personaIds: list of str. Returns persona: map {personaId, name, description, size, runId, computedAt,
// motto, traits, topCategories, topChannels}; one row per id found, any order.
UNWIND $personaIds AS id
MATCH (p:Persona {personaId: id})
WITH id, p ORDER BY p.computedAt DESC, p.runId DESC
WITH id, head(collect(p)) AS p
RETURN p {.personaId, .name, .description, .size, .runId, .computedAt, .motto, .traits, .topCategories,
          .topChannels} AS persona

// insight_personas: the personas of the latest persona run, largest first.
// No parameters. Returns persona: map {personaId, name, description, size, runId, computedAt, motto, traits,
// topCategories, topChannels} (the card fields are null on personas written before they existed).
// A run creates its personas before it removes the previous run's, so both can exist for a moment;
// only the newest run's are listed.
CALL () {
  MATCH (p:Persona)
  RETURN p.runId AS latest ORDER BY p.computedAt DESC, p.runId DESC LIMIT 1
}
MATCH (p:Persona) WHERE p.runId = latest
WITH p ORDER BY coalesce(p.size, 0) DESC, p.personaId
RETURN p {.personaId, .name, .description, .size, .runId, .computedAt, .motto, .traits, .topCategories,
          .topChannels} AS persona

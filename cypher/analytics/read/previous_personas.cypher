// previous_personas: the personas of the latest finished persona run, with the centroids a new run matches
// its clusters to (persona ids stay with their cluster across runs).
// No parameters. Returns personaId: str, name: str, description: str, size: int, runId: str,
// firstRunId: str? (the run that first found it), centroid: list of float? and features: list of str?
// (raw feature means and their keys; null for personas written before centroids were kept).
CALL () {
  MATCH (p:Persona)
  OPTIONAL MATCH (r:AnalyticsRun {runId: p.runId})
  WITH p WHERE r IS NULL OR r.status = 'done'
  RETURN p.runId AS latest ORDER BY p.computedAt DESC, p.runId DESC LIMIT 1
}
MATCH (p:Persona) WHERE p.runId = latest
RETURN p.personaId AS personaId, p.name AS name, p.description AS description, p.size AS size,
       p.runId AS runId, p.firstRunId AS firstRunId, p.centroid AS centroid, p.features AS features
ORDER BY personaId

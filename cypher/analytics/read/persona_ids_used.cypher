// persona_ids_used: every persona id ever given, current or retired: a new persona never takes one.
// No parameters. Returns ids: list of str.
CALL () {
  MATCH (p:Persona) RETURN p.personaId AS id
  UNION
  MATCH (r:RetiredPersona) RETURN r.personaId AS id
}
RETURN collect(id) AS ids

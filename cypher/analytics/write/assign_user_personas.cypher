// assign_user_personas: link users to their persona of this run, replacing any earlier link.
// $rows: list of {id: int (internal User id), personaId: str}, $runId: str.
UNWIND $rows AS row
MATCH (u:User) WHERE id(u) = row.id
MATCH (p:Persona {personaId: row.personaId, runId: $runId})
CALL (u) {
  OPTIONAL MATCH (u)-[old:HAS_PERSONA]->(:Persona)
  DELETE old
}
CREATE (u)-[:HAS_PERSONA]->(p)
SET u.persona = row.personaId

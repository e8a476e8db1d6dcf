// Baseline: hashed identities, as cypher/load/merge_identities.cypher (APOC sha256 stands in for HMAC).
// $url: file:/// URL of identities.csv; $salt: the identity salt.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, toLower(trim(coalesce(row.kind, ''))) AS kind, trim(coalesce(row.value, '')) AS raw
  WHERE trim(coalesce(row.user_id, '')) <> '' AND kind <> '' AND raw <> ''
  WITH row, kind, CASE kind WHEN 'email' THEN toLower(raw)
                            WHEN 'phone' THEN reduce(d = '', ch IN split(raw, '') |
                                                     d + CASE WHEN ch =~ '\\d' THEN ch ELSE '' END)
                            ELSE raw END AS normalised
  MATCH (u:User {userId: trim(row.user_id)})
  MERGE (i:Identity {kind: kind, value: apoc.util.sha256([$salt, kind, normalised])})
  MERGE (u)-[:HAS_IDENTITY]->(i)
} IN TRANSACTIONS OF 1000 ROWS

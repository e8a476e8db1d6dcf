// forget_search_candidates: what decides which shared search terms name a forgotten user, read before their
// identities go: the terms they searched that other users searched too, and their identity hashes.
// $userId: str. Returns terms: list of str (SearchTerm.term), identities: list of {kind: str, value: str}.
MATCH (u:User {userId: $userId})
RETURN [(u)-[:SEARCHED]->(s:SearchTerm) WHERE EXISTS { MATCH (s)<-[:SEARCHED]-(o:User) WHERE o <> u } | s.term]
         AS terms,
       [(u)-[:HAS_IDENTITY]->(i:Identity) | {kind: i.kind, value: i.value}] AS identities

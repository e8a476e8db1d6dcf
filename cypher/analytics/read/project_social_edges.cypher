// project_social_edges: social ties leaving users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns src, dst: lists of internal ids; kinds: list of int
// (0 FOLLOWS, 1 FRIEND_OF, 2 REFERRED).
MATCH (a:User)-[r:FOLLOWS|FRIEND_OF|REFERRED]->(b:User) WHERE $lo <= id(a) < $hi
RETURN collect(id(a)) AS src, collect(id(b)) AS dst,
       collect(CASE type(r) WHEN 'FOLLOWS' THEN 0 WHEN 'FRIEND_OF' THEN 1 ELSE 2 END) AS kinds

// project_referrals: REFERRED ties leaving users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns src (the referrer), dst (the referred user): lists of internal ids.
MATCH (a:User)-[:REFERRED]->(b:User) WHERE $lo <= id(a) < $hi AND a <> b
RETURN collect(id(a)) AS src, collect(id(b)) AS dst

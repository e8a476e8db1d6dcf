// gds_user_reach: distinct users tied to each user and distinct users within two hops of it (any kind,
// either direction, the user itself not counted), for users whose internal id is in [$lo, $hi); with the
// GDS engine the database counts what graph/analytics/influence.py two_hop_reach counts.
// $lo: int, $hi: int. Returns ids: list of int, keys: list of str (userId), degrees, reaches: lists of int.
MATCH (u:User) WHERE $lo <= id(u) < $hi
WITH u, size(COLLECT { MATCH (u)-[:FOLLOWS|FRIEND_OF|REFERRED]-(n:User) RETURN DISTINCT n }) AS degree,
     COLLECT {
       MATCH (u)-[:FOLLOWS|FRIEND_OF|REFERRED]-(m:User) RETURN m
       UNION
       MATCH (u)-[:FOLLOWS|FRIEND_OF|REFERRED]-(:User)-[:FOLLOWS|FRIEND_OF|REFERRED]-(m:User) RETURN m
     } AS within
RETURN collect(id(u)) AS ids, collect(u.userId) AS keys, collect(degree) AS degrees, collect(size([m IN within WHERE m <> u])) AS reaches

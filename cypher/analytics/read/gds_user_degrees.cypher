// gds_user_degrees: distinct users tied to each user (any kind, either direction), for users whose
// internal id is in [$lo, $hi); with the GDS engine the database counts what graph/analytics/influence.py
// counts from its adjacency. $lo: int, $hi: int. Returns ids: list of int, keys: list of str (userId),
// degrees: list of int.
MATCH (u:User) WHERE $lo <= id(u) < $hi
WITH u, size(COLLECT { MATCH (u)-[:FOLLOWS|FRIEND_OF|REFERRED]-(n:User) RETURN DISTINCT n }) AS degree
RETURN collect(id(u)) AS ids, collect(u.userId) AS keys, collect(degree) AS degrees

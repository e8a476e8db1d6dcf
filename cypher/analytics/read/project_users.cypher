// project_users: internal ids and user ids of users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns ids: list of int, keys: list of str.
MATCH (u:User) WHERE $lo <= id(u) < $hi
RETURN collect(id(u)) AS ids, collect(u.userId) AS keys

// project_user_channel_orders: orders per channel kind of users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns ids: list of int (user), kinds: list of str (Channel.kind, 'unknown'
// when missing), orders: list of int; one entry per (user, kind) ordered through.
MATCH (u:User)-[:PLACED]->(o:Order)-[:VIA]->(c:Channel) WHERE $lo <= id(u) < $hi
WITH id(u) AS user, coalesce(c.kind, 'unknown') AS kind, count(DISTINCT o) AS orders
RETURN collect(user) AS ids, collect(kind) AS kinds, collect(orders) AS orders

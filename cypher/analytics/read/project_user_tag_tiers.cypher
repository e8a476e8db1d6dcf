// project_user_tag_tiers: tags per tier of users whose internal id is in [$lo, $hi).
// $lo: int, $hi: int. Returns ids: list of int (user), tiers: list of str (Tag.tier, 'unknown' when
// missing), tags: list of int; one entry per (user, tier) the user has tags of.
MATCH (u:User)-[:HAS_TAG]->(t:Tag) WHERE $lo <= id(u) < $hi
WITH id(u) AS user, coalesce(t.tier, 'unknown') AS tier, count(t) AS tags
RETURN collect(user) AS ids, collect(tier) AS tiers, collect(tags) AS tags

// profile_neighborhood: the users of a walk with the social ties among them, plus the centre's
// current tags, acquisition channel, persona, social community and the products it bought most (for a
// graph view around one user).
// $userId: str (the centre); $userIds: list of str (the walk's users, centre included); $now: datetime
// (tags that expired before it are left out); $products: int (at most this many products).
// Returns one row (none for an unknown centre):
// users: list of {userId, city, country}; ties: list of {source, target, type} (stored direction);
// tags: list of {tagId, name} by tagId; channels: list of {channelId, name};
// personas: list of {personaId, name}; communities: list of {communityId, name} (at most one);
// products: list of {sku, name} (most bought first, then by sku).
MATCH (c:User {userId: $userId})
CALL () {
  UNWIND $userIds AS id
  MATCH (u:User {userId: id})
  RETURN collect({userId: u.userId, city: u.city, country: u.country}) AS users
}
CALL () {
  UNWIND $userIds AS id
  MATCH (a:User {userId: id})-[r:FRIEND_OF|FOLLOWS|REFERRED]->(b:User)
  WHERE b.userId IN $userIds
  WITH a, r, b
  ORDER BY a.userId, b.userId, type(r)
  RETURN collect({source: a.userId, target: b.userId, type: type(r)}) AS ties
}
CALL (c) {
  MATCH (c)-[h:HAS_TAG]->(t:Tag)
  WHERE h.expiresAt IS NULL OR h.expiresAt >= $now
  WITH t
  ORDER BY t.tagId
  RETURN collect({tagId: t.tagId, name: t.name}) AS tags
}
CALL (c) {
  MATCH (c)-[:ACQUIRED_VIA]->(ch:Channel)
  WITH ch
  ORDER BY ch.channelId
  RETURN collect({channelId: ch.channelId, name: ch.name}) AS channels
}
CALL (c) {
  MATCH (c)-[:HAS_PERSONA]->(p:Persona)
  WITH p
  ORDER BY p.personaId
  RETURN collect({personaId: p.personaId, name: p.name}) AS personas
}
CALL (c) {
  MATCH (cm:Community {communityId: c.socialCommunity})
  RETURN collect({communityId: cm.communityId,
                  name: cm.communityId + coalesce(' (' + cm.topCity + ')', '')}) AS communities
}
CALL (c) {
  MATCH (c)-[:PLACED]->(:Order)-[:CONTAINS]->(p:Product)
  WITH p, count(*) AS times
  ORDER BY times DESC, p.sku
  LIMIT $products
  RETURN collect({sku: p.sku, name: p.name}) AS products
}
RETURN users, ties, tags, channels, personas, communities, products

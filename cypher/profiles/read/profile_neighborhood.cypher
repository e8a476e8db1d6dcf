// profile_neighborhood: the users of a walk with the social ties among them, plus the centre's
// current tags, acquisition channel and persona (for a graph view around one user).
// $userId: str (the centre); $userIds: list of str (the walk's users, centre included); $now: datetime
// (tags that expired before it are left out). Returns one row (none for an unknown centre):
// users: list of {userId, city, country}; ties: list of {source, target, type} (stored direction);
// tags: list of {tagId, name} by tagId; channels: list of {channelId, name};
// personas: list of {personaId, name}.
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
RETURN users, ties, tags, channels, personas

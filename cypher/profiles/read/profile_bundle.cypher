// profile_bundle: several users, each with what a profile page shows of them, in one round trip: the stored
// attributes, the tags held now, one page of one tie list and one page of orders (each part only when asked).
// The parts answer as profile_users, profile_tags (no tier, expired left out), profile_<ties>_page and
// profile_orders_page do, which the API's DataLoaders are primed with (api/types/profiles.py).
// $userIds: list of str; $userProperties: list of str (the User properties to read of each);
// $withTags: bool; $tagDetails: bool (false: a tag's ruleId, assignedAt and expiresAt null, evidence empty);
// $now: datetime or null (a tag whose expiresAt is before it is expired; null: the statement's clock, as
// datetime() reads it, which spares the caller a temporal parameter: about 0.1 ms of driver CPU);
// $tieKind: 'friends', 'followers', 'following' or '' (no tie list); $tieAfter: str ('' for the first page);
// $tieLimit: int (0 with no tie list); $tieProperties: list of str (the User properties to read of each);
// $ordersLimit: int (0: no orders); $afterSeconds: int?, $afterMicros: int?, $afterId: str? (as in
// profile_orders_page). Limits are one more than the page, to see whether more follow.
// Returns userId: str, user: list (values of $userProperties), tags: list as profile_tags', ties: list of lists
// (values of $tieProperties) by userId, tieTotal: int?, orders: list as profile_orders_page's, orderTotal: int?;
// no row for unknown users.
UNWIND $userIds AS userId
MATCH (u:User {userId: userId})
RETURN userId, [k IN $userProperties | u[k]] AS user,
  COLLECT {
    MATCH (u)-[h:HAS_TAG]->(t:Tag)
    WHERE $withTags AND (h.expiresAt IS NULL OR h.expiresAt >= coalesce($now, datetime()))
    WITH h, t, coalesce(h.weight, 1.0) AS weight
    ORDER BY weight DESC, t.tagId
    RETURN {tagId: t.tagId, name: t.name, tier: t.tier, weight: weight, source: coalesce(h.source, 'manual'),
            ruleId: CASE WHEN $tagDetails THEN h.ruleId END,
            assignedAt: CASE WHEN $tagDetails THEN h.assignedAt END,
            expiresAt: CASE WHEN $tagDetails THEN h.expiresAt END,
            evidence: CASE WHEN $tagDetails THEN coalesce(h.evidence, []) ELSE [] END}
  } AS tags,
  CASE $tieKind
    WHEN 'friends' THEN COLLECT {
      MATCH (u)-[:FRIEND_OF]-(f:User)
      WHERE f.userId > $tieAfter
      WITH DISTINCT f
      ORDER BY f.userId
      LIMIT $tieLimit
      RETURN [k IN $tieProperties | f[k]]
    }
    WHEN 'followers' THEN COLLECT {
      MATCH (u)<-[:FOLLOWS]-(f:User)
      WHERE f.userId > $tieAfter
      WITH DISTINCT f
      ORDER BY f.userId
      LIMIT $tieLimit
      RETURN [k IN $tieProperties | f[k]]
    }
    WHEN 'following' THEN COLLECT {
      MATCH (u)-[:FOLLOWS]->(f:User)
      WHERE f.userId > $tieAfter
      WITH DISTINCT f
      ORDER BY f.userId
      LIMIT $tieLimit
      RETURN [k IN $tieProperties | f[k]]
    }
  END AS ties,
  CASE $tieKind
    WHEN 'friends' THEN COUNT { (u)-[:FRIEND_OF]-() }
    WHEN 'followers' THEN COUNT { (u)<-[:FOLLOWS]-() }
    WHEN 'following' THEN COUNT { (u)-[:FOLLOWS]->() }
  END AS tieTotal,
  CASE WHEN $ordersLimit > 0 THEN COLLECT {
    MATCH (u)-[:PLACED]->(o:Order)
    WITH o, o.orderedAt.epochSeconds AS seconds, o.orderedAt.microsecond AS micros
    WHERE $afterSeconds IS NULL
       OR seconds < $afterSeconds
       OR (seconds = $afterSeconds AND (micros < $afterMicros OR (micros = $afterMicros AND o.orderId > $afterId)))
    WITH o, seconds, micros
    ORDER BY seconds DESC, micros DESC, o.orderId
    LIMIT $ordersLimit
    RETURN {orderId: o.orderId, orderedAt: o.orderedAt,
            channelId: head(COLLECT { MATCH (o)-[:VIA]->(c:Channel) RETURN c.channelId ORDER BY c.channelId }),
            lines: COLLECT {
              MATCH (o)-[l:CONTAINS]->(p:Product)
              WITH l, p
              ORDER BY p.sku, l.lineId
              RETURN {sku: p.sku, name: p.name, quantity: coalesce(l.quantity, 1), unitPrice: l.unitPrice,
                      listPrice: p.price}
            }}
  } END AS orders,
  CASE WHEN $ordersLimit > 0 THEN COUNT { (u)-[:PLACED]->() } END AS orderTotal

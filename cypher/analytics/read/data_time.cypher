// data_time: the latest order and the latest behaviour event in the graph, the data's "now": the default
// as-of of lifecycle tiers and rule tags (graph/as_of.py).
// No parameters. Returns order: datetime? (latest orderedAt), event: datetime? (latest lastEventAt of a
// user: their latest VIEWED/CLICKED/LIKED/COMMENTED/SHARED/SEARCHED event, V008); null when there is none.
// Each is the newest entry of its index (order_ordered_at, user_last_event), not a scan.
CALL () {
  MATCH (o:Order)
  WHERE o.orderedAt IS NOT NULL
  WITH o.orderedAt AS at
  ORDER BY at DESC
  LIMIT 1
  RETURN collect(at)[0] AS order
}
CALL () {
  MATCH (u:User)
  WHERE u.lastEventAt IS NOT NULL
  WITH u.lastEventAt AS at
  ORDER BY at DESC
  LIMIT 1
  RETURN collect(at)[0] AS event
}
RETURN order, event

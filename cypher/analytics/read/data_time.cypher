// data_time: the latest order and the latest behaviour event in the graph, the data's "now": the default
// as-of of lifecycle tiers and rule tags (graph/as_of.py).
// No parameters. Returns order: datetime? (latest orderedAt), event: datetime? (latest lastAt of a
// VIEWED/CLICKED/LIKED/COMMENTED/SHARED/SEARCHED edge); null when there is none.
CALL () {
  MATCH (o:Order)
  RETURN max(o.orderedAt) AS order
}
CALL () {
  MATCH (:User)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
  RETURN max(r.lastAt) AS event
}
RETURN order, event

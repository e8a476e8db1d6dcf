// latest_order_time: when the latest order was placed, the default "as of" time of segment runs.
// No parameters. Returns latest: datetime or null when there are no orders.
MATCH (o:Order)
RETURN max(o.orderedAt) AS latest

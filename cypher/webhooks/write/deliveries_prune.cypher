// deliveries_prune: drop delivered deliveries last updated before a time, at most $limit of them (dead
// letters stay until re-sent or their webhook is removed). $before: datetime, $limit: int.
// Returns removed: int.
MATCH (d:WebhookDelivery)
WHERE d.status = 'delivered' AND d.updatedAt < $before
WITH d LIMIT $limit
DETACH DELETE d
RETURN count(*) AS removed

// webhook_deliveries: deliveries, newest first, of one webhook or all, in one status or any.
// $webhookId: str?, $status: 'delivered'|'retrying'|'dead'?, $deliveryId: str? (one delivery), $limit: int.
// Returns delivery: map (every property of the WebhookDelivery node).
MATCH (d:WebhookDelivery)
WHERE ($webhookId IS NULL OR d.webhookId = $webhookId)
  AND ($status IS NULL OR d.status = $status)
  AND ($deliveryId IS NULL OR d.deliveryId = $deliveryId)
RETURN properties(d) AS delivery
ORDER BY d.updatedAt DESC, d.seq DESC
LIMIT $limit

// webhook_remove: drop a webhook and its deliveries. $webhookId: str. Returns removed: int (0 or 1).
OPTIONAL MATCH (w:Webhook {webhookId: $webhookId})
OPTIONAL MATCH (d:WebhookDelivery {webhookId: $webhookId})
WITH collect(DISTINCT w) AS hooks, collect(d) AS deliveries
FOREACH (d IN deliveries | DETACH DELETE d)
FOREACH (w IN hooks | DETACH DELETE w)
RETURN size(hooks) AS removed

// webhooks_list: every registered webhook (or one), oldest first, with the delivery it is retrying, if any.
// $webhookId: str? (null: all). Returns webhook: map (every property of the Webhook node),
// retrying: map? (every property of its WebhookDelivery in status 'retrying').
MATCH (w:Webhook)
WHERE $webhookId IS NULL OR w.webhookId = $webhookId
OPTIONAL MATCH (d:WebhookDelivery {webhookId: w.webhookId, status: 'retrying'})
RETURN properties(w) AS webhook, properties(d) AS retrying
ORDER BY w.createdAt, w.webhookId

// V006 webhooks: the URLs admins registered for change-log pushes, each with its cursor, and their
// deliveries (graph/webhooks). No parameters. Every statement is idempotent (IF NOT EXISTS).
CREATE CONSTRAINT webhook_id IF NOT EXISTS FOR (w:Webhook) REQUIRE w.webhookId IS UNIQUE;
CREATE CONSTRAINT webhook_delivery_id IF NOT EXISTS FOR (d:WebhookDelivery) REQUIRE d.deliveryId IS UNIQUE;
CREATE INDEX webhook_delivery_webhook IF NOT EXISTS FOR (d:WebhookDelivery) ON (d.webhookId, d.status);
CREATE INDEX webhook_delivery_user IF NOT EXISTS FOR (d:WebhookDelivery) ON (d.userId);
CREATE INDEX webhook_delivery_updated IF NOT EXISTS FOR (d:WebhookDelivery) ON (d.updatedAt);

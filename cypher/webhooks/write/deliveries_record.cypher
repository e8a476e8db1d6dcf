// deliveries_record: what the dispatcher did for one webhook: its cursor moved (never back) and its
// deliveries' states written, in one transaction. Deliveries of users no longer in the graph (forgotten)
// are not written. $webhookId: str, $cursor: int? (null: unchanged), $at: datetime,
// $deliveries: list of {deliveryId: str, seq: int, type: str, userId: str, body: str,
//                       status: 'delivered'|'retrying'|'dead', attempts: int, lastStatus: int?,
//                       lastError: str?, nextAt: datetime?}.
// Returns recorded: int (no row when the webhook is gone).
MATCH (w:Webhook {webhookId: $webhookId})
SET w.cursor = CASE WHEN $cursor IS NULL OR $cursor < w.cursor THEN w.cursor ELSE $cursor END
WITH w
UNWIND $deliveries AS d
WITH w, d
WHERE EXISTS { MATCH (:User {userId: d.userId}) }
MERGE (x:WebhookDelivery {deliveryId: d.deliveryId})
ON CREATE SET x.createdAt = $at, x.webhookId = w.webhookId
SET x.seq = d.seq, x.type = d.type, x.userId = d.userId, x.body = d.body, x.status = d.status,
    x.attempts = d.attempts, x.lastStatus = d.lastStatus, x.lastError = d.lastError, x.nextAt = d.nextAt,
    x.updatedAt = $at
RETURN count(x) AS recorded

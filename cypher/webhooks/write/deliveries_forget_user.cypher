// deliveries_forget_user: drop every webhook delivery about a user (forget-me). $userId: str.
// Returns removed: int.
MATCH (d:WebhookDelivery {userId: $userId})
DETACH DELETE d
RETURN count(*) AS removed

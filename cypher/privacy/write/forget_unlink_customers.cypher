// forget_unlink_customers: users resolved into a forgotten user's customer become their own customer again
// (customerId = userId, as before any resolution) and are marked stale; the next `identities resolve`
// links them anew without the forgotten user. $userId: str. Returns unlinked: int.
MATCH (o:User {customerId: $userId})
WHERE o.userId <> $userId
SET o.customerId = o.userId, o.analyticsStaleAt = datetime()
RETURN count(o) AS unlinked

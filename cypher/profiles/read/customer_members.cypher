// customer_members: every user id that resolves to one customer, and what each placed.
// $customerId: str. Returns userId: str, orders: int.
MATCH (u:User)
WHERE u.customerId = $customerId OR u.userId = $customerId
OPTIONAL MATCH (u)-[:PLACED]->(o:Order)
RETURN u.userId AS userId, count(o) AS orders
ORDER BY userId

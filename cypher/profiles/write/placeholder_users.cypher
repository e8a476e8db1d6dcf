// placeholder_users: create bare User nodes for referenced keys (the loader's --create-missing flag).
// $keys: list of str. Placeholders carry placeholder = true until their own row arrives.
UNWIND $keys AS k
MERGE (n:User {userId: k})
ON CREATE SET n.placeholder = true

// current_ties: the social ties from the given users, as a ties row sets them (loaders/bulk/unchanged.py
// leaves out a loaded row that would change nothing). A tie whose since is not a datetime is left out (it
// reads as missing, so its row is written).
// $keys: list of str (userId of the tie's source). Returns rows: list of [route ('follows', 'friend' or
// 'referred'), src: str, dst: str, since: int? (epoch milliseconds)].
UNWIND $keys AS key
MATCH (a:User {userId: key})-[t:FOLLOWS|FRIEND_OF|REFERRED]->(b:User)
WHERE t.since IS NULL OR t.since IS :: ZONED DATETIME
RETURN collect([CASE type(t) WHEN 'FOLLOWS' THEN 'follows' WHEN 'FRIEND_OF' THEN 'friend' ELSE 'referred' END,
                key, b.userId, t.since.epochMillis]) AS rows

// current_users: the given users as a users row sets them (loaders/bulk/unchanged.py leaves out a loaded
// row that would change nothing). A placeholder, or a user acquired via more than one channel, reads as
// plain: false (its row is always written).
// $keys: list of str (userId). Returns rows: list of [userId: str, plain: bool, gender, birthYear, ageBand,
// occupation, education, incomeBand, city, region, country, marketingConsent: bool?,
// personalizationOptOut: bool?, acquiredVia: str?, acquiredAt: int? (epoch milliseconds)].
UNWIND $keys AS key
MATCH (u:User {userId: key})
WITH key, u, [(u)-[a:ACQUIRED_VIA]->(c:Channel) | [c.channelId, a.at]] AS via
WITH key, u, via, CASE WHEN size(via) = 1 THEN via[0] ELSE [null, null] END AS acquired
RETURN collect([key, u.placeholder IS NULL AND size(via) <= 1
                     AND (acquired[1] IS NULL OR acquired[1] IS :: ZONED DATETIME),
                u.gender, u.birthYear, u.ageBand, u.occupation, u.education, u.incomeBand, u.city, u.region,
                u.country, u.marketingConsent, u.personalizationOptOut,
                acquired[0], CASE WHEN acquired[1] IS :: ZONED DATETIME THEN acquired[1].epochMillis END]) AS rows

// consent_history: every consent statement of each user, newest first.
// $userIds: list of str. Returns userId: str, changes: list of {purpose: str, granted: bool, at: datetime,
// source: str, recordedAt: datetime, applied: bool (false: older than the statement that set the flag, so
// recorded without changing it; statements recorded before applied existed count as applied)};
// users without history (or unknown) have no row.
UNWIND $userIds AS uid
MATCH (:User {userId: uid})-[:CONSENT_CHANGED]->(c:ConsentChange)
WITH uid, c
ORDER BY c.at DESC, c.recordedAt DESC, c.purpose
RETURN uid AS userId,
       collect({purpose: c.purpose, granted: c.granted, at: c.at, source: c.source, recordedAt: c.recordedAt,
                applied: coalesce(c.applied, true)})
         AS changes

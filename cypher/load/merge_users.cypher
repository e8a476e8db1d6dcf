// merge_users: upsert users, where they were acquired, and the history of their consent.
// $rows: list of {userId: str, props: map of User attributes, acquiredVia: str?, acquiredAt: int? (epoch milliseconds),
//                 consentAt: int? (epoch milliseconds; null: now), consentSource: str?}
// A user's acquisition channel is replaced, never added to, so re-loads stay idempotent.
// A consent flag given (props.marketingConsent, props.personalizationOptOut) that differs from the stored
// one, or with none stored, appends (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose, granted, at, source,
// recordedAt}) and sets u.consentUpdatedAt; the same value again records nothing, so re-loads add no history.
UNWIND $rows AS row
MERGE (u:User {userId: row.userId})
// Write-lock the user before reading its consent flags: a second loader writing the same row waits here,
// then sees the flags as already set (without the lock both see none and both record a change).
SET u.userId = row.userId
WITH u, row,
     CASE WHEN row.consentAt IS NULL THEN datetime() ELSE datetime({epochMillis: row.consentAt}) END AS consentAt,
     [c IN [{purpose: 'marketing', granted: row.props.marketingConsent, before: u.marketingConsent},
            {purpose: 'personalisation', granted: NOT row.props.personalizationOptOut,
             before: NOT u.personalizationOptOut}]
      WHERE c.granted IS NOT NULL AND (c.before IS NULL OR c.before <> c.granted)] AS changes
SET u += row.props
REMOVE u.placeholder
FOREACH (c IN changes |
  CREATE (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose: c.purpose, granted: c.granted, at: consentAt,
                                                  source: coalesce(row.consentSource, 'unknown'),
                                                  recordedAt: datetime()})
)
FOREACH (_ IN CASE WHEN size(changes) > 0 THEN [1] ELSE [] END | SET u.consentUpdatedAt = consentAt)
WITH u, row
WHERE row.acquiredVia IS NOT NULL
MATCH (c:Channel {channelId: row.acquiredVia})
OPTIONAL MATCH (u)-[old:ACQUIRED_VIA]->(other:Channel) WHERE other <> c
DELETE old
MERGE (u)-[a:ACQUIRED_VIA]->(c)
SET a.at = CASE WHEN row.acquiredAt IS NOT NULL THEN datetime({epochMillis: row.acquiredAt}) END

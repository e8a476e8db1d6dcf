// merge_users: upsert users, where they were acquired, and the history of their consent.
// $rows: list of {userId: str, props: map of User attributes (never the consent flags), acquiredVia: str?,
//                 acquiredAt: int? (epoch milliseconds), marketingConsent: bool?, personalizationOptOut: bool?,
//                 consentAt: int? (epoch milliseconds; null: now), consentTimed: bool (consentAt is when the
//                 user made the statement, not only when the file was loaded), consentSource: str?}
// A user's acquisition channel is replaced, never added to, so re-loads stay idempotent.
// Consent (docs/privacy-data.md): each flag keeps the time of the statement that set it (marketingConsentAt,
// personalizationOptOutAt; older graphs: consentUpdatedAt). A row's flag that differs from the stored one
// is applied only when its time is newer (at the same time a withdrawal wins); a row without a consent time
// (consentTimed false) may grant only while no statement was recorded for that flag, and its withdrawals
// always apply (the safe direction; the flag keeps the later of the two times). An applied change
// appends (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose, granted, at, source, recordedAt, applied: true});
// a timed row older than the stored statement is appended once with applied: false (not if that statement,
// purpose, value and time, is already in the history). The same value again records nothing, and neither
// does a refused untimed grant, so re-loads add no history.
UNWIND $rows AS row
MERGE (u:User {userId: row.userId})
// Write-lock the user before reading its consent flags: a second loader writing the same row waits here,
// then sees the flags as already set (without the lock both see none and both record a change).
SET u.userId = row.userId
WITH u, row,
     CASE WHEN row.consentAt IS NULL THEN datetime() ELSE datetime({epochMillis: row.consentAt}) END AS consentAt,
     coalesce(row.consentTimed, true) AS timed
WITH u, row, consentAt, timed,
     [c IN [{purpose: 'marketing', granted: row.marketingConsent, before: u.marketingConsent,
             since: CASE WHEN u.marketingConsent IS NOT NULL
                         THEN coalesce(u.marketingConsentAt, u.consentUpdatedAt) END},
            {purpose: 'personalised', granted: NOT row.personalizationOptOut,
             before: NOT u.personalizationOptOut,
             since: CASE WHEN u.personalizationOptOut IS NOT NULL
                         THEN coalesce(u.personalizationOptOutAt, u.consentUpdatedAt) END}]
      WHERE c.granted IS NOT NULL AND (c.before IS NULL OR c.before <> c.granted)
      | {purpose: c.purpose, granted: c.granted,
         applied: CASE WHEN timed
                       THEN c.since IS NULL OR consentAt > c.since OR (consentAt = c.since AND NOT c.granted)
                       ELSE c.before IS NULL OR NOT c.granted END,
         // the flag's time: a withdrawal of unknown time over a later statement keeps that statement's time,
         // so a statement older than that still cannot override it
         since: CASE WHEN c.since > consentAt THEN c.since ELSE consentAt END}] AS candidates
WITH u, row, consentAt, timed, candidates,
     CASE WHEN timed AND any(c IN candidates WHERE NOT c.applied)
          THEN [(u)-[:CONSENT_CHANGED]->(h:ConsentChange) | [h.purpose, h.granted, h.at]] ELSE [] END AS seen
WITH u, row, consentAt,
     [c IN candidates WHERE c.applied OR (timed AND NOT [c.purpose, c.granted, consentAt] IN seen)] AS changes
SET u += row.props
REMOVE u.placeholder
FOREACH (c IN changes |
  CREATE (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose: c.purpose, granted: c.granted, at: consentAt,
                                                  source: coalesce(row.consentSource, 'unknown'),
                                                  recordedAt: datetime(), applied: c.applied})
)
FOREACH (c IN [x IN changes WHERE x.applied AND x.purpose = 'marketing'] |
  SET u.marketingConsent = c.granted, u.marketingConsentAt = c.since)
FOREACH (c IN [x IN changes WHERE x.applied AND x.purpose = 'personalised'] |
  SET u.personalizationOptOut = NOT c.granted, u.personalizationOptOutAt = c.since)
FOREACH (_ IN CASE WHEN any(x IN changes WHERE x.applied)
                    AND (u.consentUpdatedAt IS NULL OR consentAt > u.consentUpdatedAt) THEN [1] ELSE [] END |
  SET u.consentUpdatedAt = consentAt)
WITH u, row
WHERE row.acquiredVia IS NOT NULL
MATCH (c:Channel {channelId: row.acquiredVia})
OPTIONAL MATCH (u)-[old:ACQUIRED_VIA]->(other:Channel) WHERE other <> c
DELETE old
MERGE (u)-[a:ACQUIRED_VIA]->(c)
SET a.at = CASE WHEN row.acquiredAt IS NOT NULL THEN datetime({epochMillis: row.acquiredAt}) END

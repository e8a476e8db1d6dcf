// set_consent: one consent statement by (or for) a user: append it to the consent history, and set the flag
// (marketingConsent, personalizationOptOut or advertisingConsent, with its time in marketingConsentAt /
// personalizationOptOutAt / advertisingConsentAt; surveyOptOut / surveyOptOutAt for 'surveys', the use of the
// user's survey answers: docs/surveys.md)
// when it is newer than the statement that set the flag (at the same time a withdrawal wins). A back-dated
// statement is recorded with applied: false and changes nothing (docs/privacy-data.md).
// $userId: str; $purpose: 'marketing' | 'personalised' | 'advertising' | 'surveys'; $granted: bool; $at: datetime;
// $source: str.
// Recorded even when the flag already had this value: every statement counts.
// Returns userId: str, applied: bool; or no row when there is no such user.
MATCH (u:User {userId: $userId})
// Write-lock the user before reading the flag's time, so two statements at once are ordered.
SET u.userId = u.userId
WITH u,
     CASE WHEN $purpose = 'marketing'
          THEN CASE WHEN u.marketingConsent IS NOT NULL THEN coalesce(u.marketingConsentAt, u.consentUpdatedAt) END
          WHEN $purpose = 'advertising' THEN u.advertisingConsentAt
          WHEN $purpose = 'surveys' THEN u.surveyOptOutAt
          ELSE CASE WHEN u.personalizationOptOut IS NOT NULL
                    THEN coalesce(u.personalizationOptOutAt, u.consentUpdatedAt) END
     END AS since
WITH u, since IS NULL OR $at > since OR ($at = since AND NOT $granted) AS applied
FOREACH (_ IN CASE WHEN applied AND $purpose = 'marketing' THEN [1] ELSE [] END |
  SET u.marketingConsent = $granted, u.marketingConsentAt = $at)
FOREACH (_ IN CASE WHEN applied AND $purpose = 'advertising' THEN [1] ELSE [] END |
  SET u.advertisingConsent = $granted, u.advertisingConsentAt = $at)
FOREACH (_ IN CASE WHEN applied AND $purpose = 'surveys' THEN [1] ELSE [] END |
  SET u.surveyOptOut = NOT $granted, u.surveyOptOutAt = $at)
FOREACH (_ IN CASE WHEN applied AND $purpose = 'personalised' THEN [1] ELSE [] END |
  SET u.personalizationOptOut = NOT $granted, u.personalizationOptOutAt = $at)
FOREACH (_ IN CASE WHEN applied AND (u.consentUpdatedAt IS NULL OR $at > u.consentUpdatedAt) THEN [1] ELSE [] END |
  SET u.consentUpdatedAt = $at)
CREATE (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose: $purpose, granted: $granted, at: $at, source: $source,
                                                recordedAt: datetime(), applied: applied})
RETURN u.userId AS userId, applied

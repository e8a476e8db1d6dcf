// set_consent: one consent statement by (or for) a user: set the flag, append it to the consent history.
// $userId: str; $purpose: 'marketing' | 'personalisation'; $granted: bool; $at: datetime; $source: str.
// Recorded even when the flag already had this value: every statement counts (docs/privacy-data.md).
// Returns userId: str, or no row when there is no such user.
MATCH (u:User {userId: $userId})
SET u.marketingConsent = CASE WHEN $purpose = 'marketing' THEN $granted ELSE u.marketingConsent END,
    u.personalizationOptOut = CASE WHEN $purpose = 'personalisation' THEN NOT $granted
                                   ELSE u.personalizationOptOut END,
    u.consentUpdatedAt = $at
CREATE (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose: $purpose, granted: $granted, at: $at, source: $source,
                                                recordedAt: datetime()})
RETURN u.userId AS userId

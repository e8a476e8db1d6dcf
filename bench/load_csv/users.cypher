// Baseline: users, where they were acquired and the history of their consent, as
// cypher/profiles/write/merge_users.cypher writes them from a file without consent times (bench's users.csv):
// a consent flag that differs from the stored one appends a ConsentChange and sets the flag and its time
// (a grant only while no statement was recorded for it, a withdrawal always); the acquisition channel is
// replaced, never added to.
// $url: file:/// URL of users.csv; $year: the current year (for age bands); $source: the consent source.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, toInteger(row.birth_year) AS born,
       CASE toLower(trim(coalesce(row.marketing_consent, ''))) WHEN 'true' THEN true WHEN 'false' THEN false END
         AS marketing,
       CASE toLower(trim(coalesce(row.personalization_opt_out, ''))) WHEN 'true' THEN true WHEN 'false' THEN false END
         AS optOut
  WHERE trim(coalesce(row.user_id, '')) <> '' AND (born IS NULL OR 1900 <= born <= 2100)
  MERGE (u:User {userId: trim(row.user_id)})
  SET u.gender = CASE WHEN trim(coalesce(row.gender, '')) <> '' THEN toLower(trim(row.gender)) END,
      u.birthYear = born,
      u.ageBand = CASE WHEN born IS NULL THEN null
                       WHEN $year - born < 18 THEN '<18' WHEN $year - born < 25 THEN '18-24'
                       WHEN $year - born < 35 THEN '25-34' WHEN $year - born < 45 THEN '35-44'
                       WHEN $year - born < 55 THEN '45-54' WHEN $year - born < 65 THEN '55-64'
                       ELSE '65+' END,
      u.occupation = row.occupation, u.education = row.education, u.incomeBand = row.income_band,
      u.city = row.city, u.region = row.region, u.country = row.country
  REMOVE u.placeholder
  WITH u, row, datetime() AS now,
       [c IN [{purpose: 'marketing', granted: marketing, before: u.marketingConsent},
              {purpose: 'personalised', granted: NOT optOut, before: NOT u.personalizationOptOut}]
        WHERE c.granted IS NOT NULL AND (c.before IS NULL OR (c.before <> c.granted AND NOT c.granted))] AS changes
  FOREACH (c IN changes |
    CREATE (u)-[:CONSENT_CHANGED]->(:ConsentChange {purpose: c.purpose, granted: c.granted, at: now,
                                                    source: $source, recordedAt: now, applied: true}))
  FOREACH (c IN [x IN changes WHERE x.purpose = 'marketing'] |
    SET u.marketingConsent = c.granted, u.marketingConsentAt = now)
  FOREACH (c IN [x IN changes WHERE x.purpose = 'personalised'] |
    SET u.personalizationOptOut = NOT c.granted, u.personalizationOptOutAt = now)
  FOREACH (_ IN CASE WHEN size(changes) > 0 THEN [1] ELSE [] END | SET u.consentUpdatedAt = now)
  WITH u, row WHERE trim(coalesce(row.acquired_via, '')) <> ''
  MATCH (c:Channel {channelId: trim(row.acquired_via)})
  OPTIONAL MATCH (u)-[old:ACQUIRED_VIA]->(other:Channel) WHERE other <> c
  DELETE old
  MERGE (u)-[a:ACQUIRED_VIA]->(c)
  SET a.at = CASE WHEN row.acquired_at =~ '\\d{4}-\\d{2}-\\d{2}T.*' THEN datetime(row.acquired_at) END
} IN TRANSACTIONS OF 1000 ROWS

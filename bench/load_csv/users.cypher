// Baseline: users and their acquisition channel, as cypher/load/merge_users.cypher.
// $url: file:/// URL of users.csv; $year: the current year (for age bands).
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, toInteger(row.birth_year) AS born
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
      u.city = row.city, u.region = row.region, u.country = row.country,
      u.marketingConsent = CASE toLower(trim(coalesce(row.marketing_consent, '')))
                             WHEN 'true' THEN true WHEN 'false' THEN false END,
      u.personalizationOptOut = CASE toLower(trim(coalesce(row.personalization_opt_out, '')))
                                  WHEN 'true' THEN true WHEN 'false' THEN false END
  WITH u, row WHERE trim(coalesce(row.acquired_via, '')) <> ''
  MATCH (c:Channel {channelId: trim(row.acquired_via)})
  MERGE (u)-[a:ACQUIRED_VIA]->(c)
  SET a.at = CASE WHEN row.acquired_at =~ '\\d{4}-\\d{2}-\\d{2}T.*' THEN datetime(row.acquired_at) END
} IN TRANSACTIONS OF 1000 ROWS

// audience_list: saved audiences, all of them or the ids given.
// $audienceIds: list of str or null (null = all). Returns audience: map of the stored properties.
MATCH (a:Audience)
WHERE $audienceIds IS NULL OR a.audienceId IN $audienceIds
RETURN properties(a) AS audience
ORDER BY a.audienceId

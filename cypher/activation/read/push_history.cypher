// push_history: the pushes of saved audiences, newest first: all of them, or one audience's.
// $audienceId: str or null (null = every audience), $limit: int.
// Returns push: map of the AudiencePush properties.
MATCH (p:AudiencePush)
WHERE $audienceId IS NULL OR p.audienceId = $audienceId
RETURN properties(p) AS push
ORDER BY p.at DESC, p.pushId DESC
LIMIT $limit

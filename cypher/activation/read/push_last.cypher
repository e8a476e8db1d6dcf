// push_last: the latest push of a saved audience to one platform, if any (the base of the next diff).
// $audienceId: str, $platform: str. Returns pushId: str, at: datetime; no row when never pushed.
MATCH (p:AudiencePush {audienceId: $audienceId, platform: $platform})
RETURN p.pushId AS pushId, p.at AS at
ORDER BY p.at DESC, p.pushId DESC
LIMIT 1

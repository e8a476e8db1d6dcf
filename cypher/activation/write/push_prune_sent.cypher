// push_prune_sent: drop what older pushes of the same audience to the same platform sent (only the latest
// push is the base of a diff; the push nodes stay, with their counts, as history).
// $audienceId: str, $platform: str, $pushId: str (the push to keep). Returns removed: int.
MATCH (p:AudiencePush {audienceId: $audienceId, platform: $platform})-[s:SENT]->()
WHERE p.pushId <> $pushId
DELETE s
RETURN count(s) AS removed

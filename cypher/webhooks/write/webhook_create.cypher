// webhook_create: register a webhook whose cursor starts at the latest committed change (it is sent what
// changes from now on). $webhookId: str, $url: str, $events: list of str, $audienceIds: list of str,
// $tagIds: list of str, $createdBy: str, $at: datetime. Returns webhook: map.
OPTIONAL MATCH (s:ChangeSequence {name: 'changes'})
WITH coalesce(s.next, 1) - 1 AS latest
CREATE (w:Webhook {
  webhookId: $webhookId, url: $url, events: $events, audienceIds: $audienceIds, tagIds: $tagIds,
  cursor: latest, createdAt: $at, createdBy: $createdBy
})
RETURN properties(w) AS webhook

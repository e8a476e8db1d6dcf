// audience_record_count: append one entry to a saved audience's count history (oldest dropped past $cap).
// $audienceId: str, $count: int, $countedAt: datetime, $cap: int. Returns the stored properties as `audience`.
MATCH (a:Audience {audienceId: $audienceId})
SET a.counts = (coalesce(a.counts, []) + [$count])[-$cap..],
    a.countedAt = (coalesce(a.countedAt, []) + [$countedAt])[-$cap..]
RETURN properties(a) AS audience

// audience_drop_stale_members: remove IN_AUDIENCE edges a full refresh did not see again.
// $audienceId: str, $stamp: str (the refresh just written).
MATCH (:Audience {audienceId: $audienceId})<-[m:IN_AUDIENCE]-(:User)
WHERE m.stamp IS NULL OR m.stamp <> $stamp
DELETE m

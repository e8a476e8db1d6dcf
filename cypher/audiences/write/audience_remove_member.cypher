// audience_remove_member: a user is no longer a member of a saved audience.
// $audienceId: str, $userId: str.
MATCH (:Audience {audienceId: $audienceId})<-[m:IN_AUDIENCE]-(:User {userId: $userId})
DELETE m

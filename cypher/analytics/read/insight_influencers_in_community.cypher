// insight_influencers_in_community: the most influential users of one social community.
// $communityId: str, $first: int. Returns user: map (all User properties), influenceRank 1 first.
// Members are found through the user_social_community index; a community is small next to all users.
MATCH (u:User {socialCommunity: $communityId})
WHERE u.influence IS NOT NULL AND u.influenceRank IS NOT NULL
WITH u ORDER BY u.influence DESC, u.influenceRank LIMIT $first
RETURN u {.*} AS user

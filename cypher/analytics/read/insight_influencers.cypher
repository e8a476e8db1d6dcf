// insight_influencers: the most influential users of the latest influence run (influenceRank 1 first).
// $first: int. Returns user: map (all User properties).
// Sorted on the indexed influence (user_influence), so the plan reads that index in order and stops
// after $first users; influenceRank orders exactly like influence desc, so it only breaks ties.
MATCH (u:User)
WHERE u.influence IS NOT NULL AND u.influenceRank IS NOT NULL
WITH u ORDER BY u.influence DESC, u.influenceRank LIMIT $first
RETURN u {.*} AS user

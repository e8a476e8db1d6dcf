// tag_rule_influencer_ranked: how many users carry an influence rank (from the latest influence run).
// No parameters. Returns ranked: int.
MATCH (u:User)
WHERE u.influenceRank IS NOT NULL
RETURN count(u) AS ranked

// list_channel_stats: the attribution figures the last attribution run wrote on each channel.
// No parameters. Returns channelId, kind: str; acquiredUsers, buyers: int; conversionRate, revenue,
// firstTouchRevenue, lastTouchRevenue, referralRevenue: float; runId: str; computedAt: datetime.
// Channels no run has scored yet are left out; highest revenue first.
MATCH (c:Channel) WHERE c.attributionRunId IS NOT NULL
RETURN c.channelId AS channelId, c.kind AS kind, c.acquiredUsers AS acquiredUsers, c.buyers AS buyers,
       c.conversionRate AS conversionRate, c.revenue AS revenue, c.firstTouchRevenue AS firstTouchRevenue,
       c.lastTouchRevenue AS lastTouchRevenue, c.referralRevenue AS referralRevenue,
       c.attributionRunId AS runId, c.attributionComputedAt AS computedAt
ORDER BY revenue DESC, channelId

// write_channel_attribution: store acquisition, conversion and revenue attribution on channels.
// $rows: list of {id: int (internal Channel id from this run's projection), acquiredUsers: int,
//                 buyers: int, conversionRate: float, revenue: float, firstTouchRevenue: float,
//                 lastTouchRevenue: float, referralRevenue: float}; $runId: str; $computedAt: datetime.
UNWIND $rows AS row
MATCH (c:Channel) WHERE id(c) = row.id
SET c.acquiredUsers = row.acquiredUsers, c.buyers = row.buyers, c.conversionRate = row.conversionRate,
    c.revenue = row.revenue, c.firstTouchRevenue = row.firstTouchRevenue,
    c.lastTouchRevenue = row.lastTouchRevenue, c.referralRevenue = row.referralRevenue,
    c.attributionRunId = $runId, c.attributionComputedAt = $computedAt

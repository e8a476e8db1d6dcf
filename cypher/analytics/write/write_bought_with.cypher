// write_bought_with: upsert directed co-purchase edges between products, stamped with the run.
// $rows: list of {a: int, b: int (internal product ids), count: int, support: float,
//                 confidence: float (of a -> b), lift: float}; $runId: str, $computedAt: datetime.
UNWIND $rows AS row
MATCH (a:Product) WHERE id(a) = row.a
MATCH (b:Product) WHERE id(b) = row.b
MERGE (a)-[r:BOUGHT_WITH]->(b)
SET r.count = row.count, r.support = row.support, r.confidence = row.confidence, r.lift = row.lift,
    r.runId = $runId, r.computedAt = $computedAt

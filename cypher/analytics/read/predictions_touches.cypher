// predictions_touches: when users whose internal id is in [$lo, $hi) first touched each product or search
// term (the firstAt of their VIEWED, CLICKED, LIKED, COMMENTED, SHARED and SEARCHED edges). Only firstAt:
// an edge's count and lastAt mix events from before and after any cutoff, its firstAt never does.
// $lo: int, $hi: int. Returns users: list of int (internal User ids); firstAt: list of int (epoch seconds).
MATCH (u:User)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->()
WHERE $lo <= id(u) < $hi AND r.firstAt IS NOT NULL
RETURN collect(id(u)) AS users, collect(r.firstAt.epochSeconds) AS firstAt

// Baseline: events folded into one edge per user and target with eventKeys, and the user's eventHours and
// lastEventAt, as merge_events_*.cypher.
// $url: file:/// URL of events.csv.
LOAD CSV WITH HEADERS FROM $url AS row
CALL (row) {
  WITH row, toLower(trim(coalesce(row.kind, ''))) AS kind
  WHERE trim(coalesce(row.user_id, '')) <> '' AND trim(coalesce(row.target, '')) <> ''
    AND row.at =~ '\\d{4}-\\d{2}-\\d{2}.*'
    AND kind IN ['view', 'click', 'like', 'comment', 'share', 'search']
  WITH row, kind, datetime(row.at) AS at
  WITH row, kind, at, coalesce(row.event_id, row.user_id + '|' + kind + '|' + toString(at) + '|' + row.target) AS key
  MATCH (u:User {userId: trim(row.user_id)})
  CALL (u, row, kind, at, key) {
    WITH u, row, kind, at, key WHERE kind = 'search'
    MERGE (t:SearchTerm {term: toLower(trim(row.target))})
    MERGE (u)-[r:SEARCHED]->(t)
    ON CREATE SET r.count = 0, r.eventKeys = [], r.hourCounts = [h IN range(0, 23) | 0]
    WITH u, r, key, at WHERE NOT key IN r.eventKeys
    SET r.count = r.count + 1, r.eventKeys = r.eventKeys + key,
        r.firstAt = CASE WHEN r.firstAt IS NULL OR at < r.firstAt THEN at ELSE r.firstAt END,
        r.lastAt = CASE WHEN r.lastAt IS NULL OR at > r.lastAt THEN at ELSE r.lastAt END,
        r.hourCounts = [h IN range(0, 23) | r.hourCounts[h] + CASE WHEN h = at.hour THEN 1 ELSE 0 END],
        u.eventHours = [h IN range(0, 23) | coalesce(u.eventHours[h], 0) + CASE WHEN h = at.hour THEN 1 ELSE 0 END],
        u.lastEventAt = CASE WHEN u.lastEventAt IS NULL OR at > u.lastEventAt THEN at ELSE u.lastEventAt END
  }
  CALL (u, row, kind, at, key) {
    WITH u, row, kind, at, key WHERE kind <> 'search'
    MATCH (p:Product {sku: trim(row.target)})
    CALL apoc.merge.relationship(u,
      CASE kind WHEN 'view' THEN 'VIEWED' WHEN 'click' THEN 'CLICKED' WHEN 'like' THEN 'LIKED'
                WHEN 'comment' THEN 'COMMENTED' ELSE 'SHARED' END,
      {}, {count: 0, eventKeys: [], hourCounts: [h IN range(0, 23) | 0]}, p, {}) YIELD rel
    WITH u, rel AS r, key, at WHERE NOT key IN r.eventKeys
    SET r.count = r.count + 1, r.eventKeys = r.eventKeys + key,
        r.firstAt = CASE WHEN r.firstAt IS NULL OR at < r.firstAt THEN at ELSE r.firstAt END,
        r.lastAt = CASE WHEN r.lastAt IS NULL OR at > r.lastAt THEN at ELSE r.lastAt END,
        r.hourCounts = [h IN range(0, 23) | r.hourCounts[h] + CASE WHEN h = at.hour THEN 1 ELSE 0 END],
        u.eventHours = [h IN range(0, 23) | coalesce(u.eventHours[h], 0) + CASE WHEN h = at.hour THEN 1 ELSE 0 END],
        u.lastEventAt = CASE WHEN u.lastEventAt IS NULL OR at > u.lastEventAt THEN at ELSE u.lastEventAt END
  }
} IN TRANSACTIONS OF 1000 ROWS

// project_user_hours: product events of users whose internal id is in [$lo, $hi), by time of day.
// $lo: int, $hi: int, $nightHours: list of int (0-23), $workHours: list of int (0-23).
// Returns ids: list of int (users with events), events, night, work: lists of int (hourCounts summed
// over VIEWED/CLICKED/LIKED/COMMENTED/SHARED edges: all hours, the night hours, the work hours).
MATCH (u:User)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED]->(:Product) WHERE $lo <= id(u) < $hi
WITH id(u) AS user, coalesce(r.hourCounts, [h IN range(0, 23) | 0]) AS hours
WITH user,
     sum(reduce(s = 0, n IN hours | s + n)) AS events,
     sum(reduce(s = 0, h IN $nightHours | s + hours[h])) AS night,
     sum(reduce(s = 0, h IN $workHours | s + hours[h])) AS work
RETURN collect(user) AS ids, collect(events) AS events, collect(night) AS night, collect(work) AS work

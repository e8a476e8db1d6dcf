// predictions_users: the users a prediction run scores, with when each was acquired, internal id in [$lo, $hi).
// $lo: int, $hi: int. Returns ids: list of int (internal ids); acquiredAt: list of [int?] (one-element lists,
// since collect drops nulls: epoch seconds of the ACQUIRED_VIA tie, null when the user has none).
MATCH (u:User) WHERE $lo <= id(u) < $hi
CALL (u) {
  OPTIONAL MATCH (u)-[a:ACQUIRED_VIA]->(:Channel)
  RETURN min(a.at) AS acquired
}
RETURN collect(id(u)) AS ids, collect([acquired.epochSeconds]) AS acquiredAt

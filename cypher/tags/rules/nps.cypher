// tag_rule_nps: each user's latest answer to an NPS question (one question, or any), within the window,
// unless they withdrew survey consent (u.surveyOptOut).
// $userIds: list of str; $asOf: datetime; $since: datetime (as-of minus the oldest answer's age);
// $question: str? (a question key '<surveyId>/<questionId>'; null: any question of scale 'nps').
// Returns userId, score: int (0-10), at: datetime, question: str.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[a:ANSWERED]->(q:Question {scale: 'nps'})
WHERE coalesce(u.surveyOptOut, false) = false AND a.at <= $asOf AND a.at >= $since
  AND ($question IS NULL OR q.questionKey = $question) AND a.score IS NOT NULL
WITH u, a, q ORDER BY a.at DESC, q.questionKey DESC
WITH u, head(collect({score: a.score, at: a.at, question: q.questionKey})) AS last
RETURN u.userId AS userId, last.score AS score, last.at AS at, last.question AS question

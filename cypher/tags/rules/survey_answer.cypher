// tag_rule_survey_answer: users whose latest answers to the tested questions meet the tests, at least
// $minMatched of them, unless they withdrew survey consent (u.surveyOptOut). An answer older than $since (or
// after as-of) is not read; a question with no answer in the window does not hold.
// $userIds: list of str; $asOf: datetime; $since: datetime;
// $tests: list of {question: str ('<surveyId>/<questionId>'), min: int?, max: int?, anyOf: list of str?};
// $minMatched: int.
// Returns userId, met: list of {question: str, answer: str, at: datetime} (the tests that hold).
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})
WHERE coalesce(u.surveyOptOut, false) = false
UNWIND $tests AS test
MATCH (u)-[a:ANSWERED]->(q:Question {questionKey: test.question})
WHERE a.at <= $asOf AND a.at >= $since
WITH u, test, q, a ORDER BY a.at DESC
WITH u, test, q, head(collect(a)) AS last
WHERE (test.min IS NULL OR last.score >= test.min) AND (test.max IS NULL OR last.score <= test.max)
  AND (test.anyOf IS NULL OR any(c IN last.choices WHERE c IN test.anyOf))
WITH u, collect({question: q.questionKey, answer: last.answer, at: last.at}) AS met
WHERE size(met) >= $minMatched
RETURN u.userId AS userId, met

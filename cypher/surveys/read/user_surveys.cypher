// user_surveys: the surveys each user answered, the most recently answered first (then by id), each with
// its answers, latest first (then by question position and id). Nothing for a user who withdrew survey
// consent (u.surveyOptOut).
// $userIds: list of str; $first: int (surveys per user); $maxAnswers: int (answers per survey).
// Returns userId, surveys: list of {surveyId, title, answers: list of {questionId, question, scale, options,
// answer, choices, score, at, channelId}}.
UNWIND $userIds AS uid
MATCH (u:User {userId: uid})-[a:ANSWERED]->(q:Question)<-[:HAS_QUESTION]-(s:Survey)
WHERE coalesce(u.surveyOptOut, false) = false
WITH uid, s, q, a ORDER BY a.at DESC, q.position, q.questionId
WITH uid, s,
     collect({questionId: q.questionId, question: q.text, scale: q.scale, options: q.options,
              answer: a.answer, choices: a.choices, score: a.score, at: a.at, channelId: a.channelId})
       [..$maxAnswers] AS answers
WITH uid, s, answers ORDER BY answers[0].at DESC, s.surveyId
WITH uid, collect({surveyId: s.surveyId, title: s.title, answers: answers})[..$first] AS surveys
RETURN uid AS userId, surveys

// survey_questions: surveys with their questions in order.
// $surveyIds: list of str. Returns surveyId, title: str?, questions: list of {questionKey, questionId,
// text, scale, options, low, high, position}, by position then id.
UNWIND $surveyIds AS sid
MATCH (s:Survey {surveyId: sid})
OPTIONAL MATCH (s)-[:HAS_QUESTION]->(q:Question)
WITH s, q ORDER BY q.position, q.questionId
WITH s, [x IN collect(q) | x {.questionKey, .questionId, .text, .scale, .options, .low, .high, .position}]
     AS questions
RETURN s.surveyId AS surveyId, s.title AS title, questions

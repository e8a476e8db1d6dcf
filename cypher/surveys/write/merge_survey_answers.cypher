// merge_survey_answers: users' answers to survey questions (survey_answers.csv), one ANSWERED edge per
// (user, question, time): a user asked again later keeps both answers; the same row again changes nothing.
// $rows: list of {userId: str, surveyId: str, questionId: str, questionKey: str, answer: str (the choices
//                 joined by '|'), answerKey: str (not stored), choices: list of str, score: int? (an answer
//                 that is one integer), at: int (epoch milliseconds), channelId: str?}
UNWIND $rows AS row
MATCH (u:User {userId: row.userId})
MATCH (q:Question {questionKey: row.questionKey})
MERGE (u)-[a:ANSWERED {at: datetime({epochMillis: row.at})}]->(q)
SET a.surveyId = row.surveyId, a.answer = row.answer, a.choices = row.choices, a.score = row.score,
    a.channelId = row.channelId

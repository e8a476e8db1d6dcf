// merge_survey_questions: surveys and their questions (surveys.csv, one row per question).
// $rows: list of {surveyId: str, title: str?, questionKey: str ('<surveyId>/<questionId>'), questionId: str,
//                 text: str?, scale: 'likert5' | 'likert7' | 'nps' | 'single' | 'multi',
//                 options: list of str? (choice questions), low: int?, high: int? (numeric scales),
//                 position: int?}
// A title or wording left out keeps what the node holds; the scale, options and range are the row's.
UNWIND $rows AS row
MERGE (s:Survey {surveyId: row.surveyId})
SET s.title = coalesce(row.title, s.title)
MERGE (q:Question {questionKey: row.questionKey})
SET q.surveyId = row.surveyId, q.questionId = row.questionId, q.text = coalesce(row.text, q.text),
    q.scale = row.scale, q.options = row.options, q.low = row.low, q.high = row.high,
    q.position = coalesce(row.position, q.position)
MERGE (s)-[:HAS_QUESTION]->(q)

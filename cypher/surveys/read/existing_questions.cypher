// existing_questions: which of the given keys name an existing Question (for reference checks).
// $keys: list of str ('<surveyId>/<questionId>'). Returns found: list of str.
UNWIND $keys AS k
MATCH (q:Question {questionKey: k})
RETURN collect(k) AS found

// fitting_answers: which of the given answer keys fit their question (for the reference check of
// survey_answers rows): a single integer within low-high for a numeric scale (likert5, likert7, nps), one
// of the options for a single-choice question, options only for a multiple-choice one.
// $keys: list of str: '<questionKey>' + U+001F + '<answer>' (the answer's choices joined by '|', as
// graph/records.py SurveyAnswerRecord writes them). Returns found: list of str.
UNWIND $keys AS k
WITH k, split(k, '\u001f') AS parts
WHERE size(parts) = 2
MATCH (q:Question {questionKey: parts[0]})
WITH k, q, split(parts[1], '|') AS picks
WHERE CASE q.scale
  WHEN 'single' THEN size(picks) = 1 AND picks[0] IN q.options
  WHEN 'multi' THEN size(picks) >= 1 AND all(p IN picks WHERE p IN q.options)
  ELSE size(picks) = 1 AND picks[0] =~ '-?[0-9]{1,10}'
       AND toInteger(picks[0]) >= q.low AND toInteger(picks[0]) <= q.high
END
RETURN collect(k) AS found

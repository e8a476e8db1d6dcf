// V009 surveys: the keys of surveys and their questions (docs/surveys.md), and an index on the answers'
// survey, which the profile's survey list groups by.
// No parameters. Every statement is idempotent (IF NOT EXISTS).
CREATE CONSTRAINT survey_id IF NOT EXISTS FOR (s:Survey) REQUIRE s.surveyId IS UNIQUE;
CREATE CONSTRAINT question_key IF NOT EXISTS FOR (q:Question) REQUIRE q.questionKey IS UNIQUE;
CREATE INDEX question_scale IF NOT EXISTS FOR (q:Question) ON (q.scale);
CREATE INDEX answered_survey IF NOT EXISTS FOR ()-[a:ANSWERED]-() ON (a.surveyId);

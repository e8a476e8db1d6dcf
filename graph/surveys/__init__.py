"""Surveys and psychographics: the surveys a user answered, with their answers, as the API shows them
(docs/surveys.md). Loading is the loaders' (file kinds surveys and survey_answers); the rule kinds and the
audience condition that read the answers live with the tags and the audiences."""

from personagraph.graph.surveys.read import AnsweredSurvey, SurveyAnswer, surveys_of

__all__ = ["AnsweredSurvey", "SurveyAnswer", "surveys_of"]

"""Surveys a user answered and their answers (``User.surveys``; docs/surveys.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from personagraph.api.enums import QuestionScale
from personagraph.graph.surveys import AnsweredSurvey as AnsweredSurveyRecord
from personagraph.graph.surveys import SurveyAnswer as SurveyAnswerRecord


@strawberry.type(description="One answer to a survey question.")
class SurveyAnswer:
    question_id: strawberry.ID
    question: str | None = strawberry.field(description="The question's wording.")
    scale: QuestionScale
    options: list[str] | None = strawberry.field(description="A choice question's options.")
    answer: str = strawberry.field(description="The answer as given; a multiple choice joined by '|'.")
    choices: list[str] = strawberry.field(description="The answer's choices (one for a score).")
    score: int | None = strawberry.field(description="The score, for an answer on a numeric scale.")
    answered_at: datetime
    channel_id: strawberry.ID | None

    @staticmethod
    def of(a: SurveyAnswerRecord) -> SurveyAnswer:
        return SurveyAnswer(
            question_id=strawberry.ID(a.question_id),
            question=a.question,
            scale=QuestionScale(a.scale),
            options=a.options,
            answer=a.answer,
            choices=a.choices,
            score=a.score,
            answered_at=a.answered_at,
            channel_id=strawberry.ID(a.channel_id) if a.channel_id is not None else None,
        )


@strawberry.type(description="A survey the user answered, with their answers, latest first.")
class AnsweredSurvey:
    survey_id: strawberry.ID
    title: str | None
    answers: list[SurveyAnswer]

    @staticmethod
    def of(s: AnsweredSurveyRecord) -> AnsweredSurvey:
        return AnsweredSurvey(
            survey_id=strawberry.ID(s.survey_id),
            title=s.title,
            answers=[SurveyAnswer.of(a) for a in s.answers],
        )

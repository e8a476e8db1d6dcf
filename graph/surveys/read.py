"""The surveys users answered, latest first, each with its answers, for the API's ``User.surveys``; none
for a user who withdrew survey consent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from personagraph.graph.paging import check_first
from personagraph.graph.store import GraphStore
from personagraph.graph.times import utc

MAX_SURVEYS = 100  # surveys per user in one read (``first``)
MAX_ANSWERS = 200  # answers per survey shown, latest first


@dataclass(frozen=True)
class SurveyAnswer:
    """One answer: the question (its id, wording, scale and options), the answer as stored (choices
    joined by '|'), its choices, its score (an answer that is one integer), when and through which channel."""

    question_id: str
    question: str | None
    scale: str
    options: list[str] | None
    answer: str
    choices: list[str]
    score: int | None
    answered_at: datetime
    channel_id: str | None

    @classmethod
    def from_map(cls, m: dict[str, Any]) -> SurveyAnswer:
        return cls(
            question_id=m["questionId"],
            question=m["question"],
            scale=m["scale"],
            options=list(m["options"]) if m["options"] is not None else None,
            answer=m["answer"],
            choices=list(m["choices"] or []),
            score=m["score"],
            answered_at=utc(m["at"]),
            channel_id=m["channelId"],
        )


@dataclass(frozen=True)
class AnsweredSurvey:
    """A survey a user answered, with their answers, latest first."""

    survey_id: str
    title: str | None
    answers: list[SurveyAnswer]

    @property
    def last_answered_at(self) -> datetime:
        return self.answers[0].answered_at


def surveys_of(
    store: GraphStore, *, user_ids: Sequence[str], first: int = 10
) -> dict[str, list[AnsweredSurvey]]:
    """Each user's ``first`` most recently answered surveys (then by id), each with up to MAX_ANSWERS
    answers, latest first; [] for a user with none or who withdrew survey consent (u.surveyOptOut)."""
    first = check_first(first, cap=MAX_SURVEYS)
    found: dict[str, list[AnsweredSurvey]] = {}
    for r in store.read(
        "surveys/read/user_surveys", userIds=list(user_ids), first=first, maxAnswers=MAX_ANSWERS
    ):
        surveys = [
            AnsweredSurvey(s["surveyId"], s["title"], [SurveyAnswer.from_map(a) for a in s["answers"]])
            for s in r["surveys"]
        ]
        surveys.sort(key=lambda s: (-s.last_answered_at.timestamp(), s.survey_id))
        found[r["userId"]] = surveys
    return {uid: found.get(uid, []) for uid in user_ids}

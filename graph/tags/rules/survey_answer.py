"""Users whose latest answers to given survey questions meet given scores or choices (rule kind
survey_answer): "values quality over price", "eco-minded"."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed
from personagraph.graph.times import aware

Choice = Annotated[str, Field(min_length=1, max_length=200)]


class AnswerTest(BaseModel):
    """One question's latest answer: a score within min-max (numeric scales), or among any_of (choices:
    one of the answer's choices is listed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=3, max_length=401, pattern=r"^[^/]+/.+$")  # '<surveyId>/<questionId>'
    min: int | None = Field(None, ge=0, le=10)
    max: int | None = Field(None, ge=0, le=10)
    any_of: list[Choice] | None = Field(None, min_length=1, max_length=50)

    @model_validator(mode="after")
    def _a_test(self) -> AnswerTest:
        if self.min is None and self.max is None and self.any_of is None:
            raise ValueError("give min, max or any_of")
        if self.any_of is not None and (self.min is not None or self.max is not None):
            raise ValueError("give either a score range (min, max) or any_of, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class SurveyAnswer(RuleParams):
    """At least ``min_matched`` of ``tests`` (all when not given) hold for the user's latest answers, each
    given at most max_age_days before as-of; users who withdrew survey consent are left out. The weight is
    the share of the tests that hold."""

    statement = "tags/rules/survey_answer"
    needs = ("surveys",)
    tests: list[AnswerTest] = Field(min_length=1, max_length=20)
    min_matched: int | None = Field(None, ge=1)
    max_age_days: float = Field(730, gt=0)

    @model_validator(mode="after")
    def _reachable(self) -> SurveyAnswer:
        if self.min_matched is not None and self.min_matched > len(self.tests):
            raise ValueError(f"min_matched {self.min_matched} is above the {len(self.tests)} tests")
        return self

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "asOf": ctx.as_of,
            "since": ctx.as_of - timedelta(days=self.max_age_days),
            "tests": [
                {"question": t.question, "min": t.min, "max": t.max, "anyOf": t.any_of} for t in self.tests
            ],
            "minMatched": self.min_matched or len(self.tests),
        }

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        met = sorted(row["met"], key=lambda m: m["question"])
        evidence = [
            f"answer:{m['question']}={m['answer']} on {aware(m['at']).date().isoformat()}" for m in met
        ]
        return len(met) / len(self.tests), evidence

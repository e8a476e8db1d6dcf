"""Net Promoter Score bands from a user's latest NPS answer, one tag per band (rule kind nps)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed
from personagraph.graph.times import aware

# The bands of the latest score: promoters 9-10, passives 7-8, detractors 0-6 (the tag's '{category}').
PROMOTER, PASSIVE, DETRACTOR = "promoter", "passive", "detractor"


def nps_band(score: int) -> str:
    """The Net Promoter band of a 0-10 score."""
    return PROMOTER if score >= 9 else PASSIVE if score >= 7 else DETRACTOR


class Nps(RuleParams):
    """The band of the user's latest answer to an NPS question (``question``: one question's key,
    ``<surveyId>/<questionId>``; none: any NPS question) at most max_age_days before as-of; one tag per
    band ('{category}': promoter, passive, detractor). Users who withdrew survey consent are left out."""

    statement = "tags/rules/nps"
    templated = True
    needs = ("surveys",)
    question: str | None = Field(None, min_length=1, max_length=401)
    max_age_days: float = Field(365, gt=0)

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "asOf": ctx.as_of,
            "since": ctx.as_of - timedelta(days=self.max_age_days),
            "question": self.question,
        }

    def key(self, row: Row) -> str | None:
        return nps_band(int(row["score"]))

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        at = aware(row["at"])
        evidence = [f"answer:{row['question']}={row['score']} on {at.date().isoformat()} (nps)"]
        # as strong as it is recent: 1 the day it was given, 0.5 at max_age_days
        return 1 - ctx.days_since(at) / (2 * self.max_age_days), evidence

"""Share of behaviour events in the night hours (rule kind night_activity)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed

VERBS = {
    "VIEWED": "viewed",
    "CLICKED": "clicked",
    "LIKED": "liked",
    "COMMENTED": "commented",
    "SHARED": "shared",
    "SEARCHED": "searched",
}


class NightActivity(RuleParams):
    """Share of behaviour events (hourCounts) in the night hours >= threshold, with enough events."""

    statement = "tags/rules/night_activity"
    needs = ("events",)
    threshold: float = Field(0.5, ge=0, le=1)
    min_events: int = Field(10, ge=1)
    start_hour: int = Field(22, ge=0, le=23)
    end_hour: int = Field(4, ge=0, le=23)  # exclusive

    @model_validator(mode="after")
    def _span(self) -> NightActivity:
        if self.start_hour == self.end_hour:
            raise ValueError(f"end_hour {self.end_hour} equals start_hour; expected a span of 1-23 hours")
        return self

    def hours(self) -> list[int]:
        return [(self.start_hour + i) % 24 for i in range((self.end_hour - self.start_hour) % 24)]

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "nightHours": self.hours(),
            "minEvents": self.min_events,
            "threshold": self.threshold,
            "maxEvidence": ctx.max_evidence,
        }

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        evidence = [f"night:{row['night']} of {row['total']} events"] + [
            f"{VERBS.get(t['kind'], t['kind'].lower())}:{t['target']} x{t['count']} at night"
            for t in row["top"]
        ]
        return row["night"] / row["total"], evidence

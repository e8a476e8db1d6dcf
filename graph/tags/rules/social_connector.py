"""Users tied to many others (rule kind social_connector)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from personagraph.graph.tags.rules.base import (
    EvalContext,
    GraphInputs,
    Match,
    Prepared,
    Row,
    RuleParams,
    clamp,
    first_missing,
)


class SocialConnector(RuleParams):
    """Tied to at least min_degree distinct users (friends, follows and referrals, either way)."""

    statement: ClassVar[str] = "tags/rules/social_connector"
    min_degree: int = Field(20, ge=1)

    def missing(self, inputs: GraphInputs) -> str | None:
        return first_missing((inputs.ties, "no social ties (friends, follows, referrals)"))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"minDegree": self.min_degree}

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        parts = [
            ("friends", row["friends"]),
            ("following", row["following"]),
            ("followers", row["followers"]),
        ]
        parts.append(("referred", row["referrals"]))
        evidence = [f"degree:{row['degree']}"] + [f"{name}:{n}" for name, n in parts if n]
        weight = row["degree"] / (2 * self.min_degree)
        return Match(row["userId"], clamp(weight), evidence[: ctx.max_evidence])

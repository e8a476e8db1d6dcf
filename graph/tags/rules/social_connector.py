"""Users tied to many others (rule kind social_connector)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed


class SocialConnector(RuleParams):
    """Tied to at least min_degree distinct users (friends, follows and referrals, either way)."""

    statement = "tags/rules/social_connector"
    needs = ("ties",)
    min_degree: int = Field(20, ge=1)

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"minDegree": self.min_degree}

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        parts = [
            ("friends", row["friends"]),
            ("following", row["following"]),
            ("followers", row["followers"]),
        ]
        parts.append(("referred", row["referrals"]))
        evidence = [f"degree:{row['degree']}"] + [f"{name}:{n}" for name, n in parts if n]
        return row["degree"] / (2 * self.min_degree), evidence

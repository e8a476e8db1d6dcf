"""Repeat buyers gone quiet (rule kind churn_risk)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from personagraph.graph.tags.rules.base import (
    NO_ORDERS,
    EvalContext,
    GraphInputs,
    Match,
    Prepared,
    Row,
    RuleParams,
    clamp,
    first_missing,
    in_days,
    native,
)


class ChurnRisk(RuleParams):
    """At least min_orders orders, but none in the last quiet_days before as-of."""

    statement: ClassVar[str] = "tags/rules/churn_risk"
    min_orders: int = Field(2, ge=1)
    quiet_days: float = Field(180, gt=0)

    def missing(self, inputs: GraphInputs) -> str | None:
        return first_missing((inputs.orders, NO_ORDERS))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "since": ctx.as_of - timedelta(days=self.quiet_days),
            "asOf": ctx.as_of,
            "minOrders": self.min_orders,
        }

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        last = native(row["lastAt"])
        quiet = in_days(ctx.as_of - last)
        evidence = [
            f"orders:{row['orders']}",
            f"last order:{row['lastOrder']} on {last.date().isoformat()} ({quiet:.0f} days before as-of)",
        ]
        return Match(row["userId"], clamp(quiet / (2 * self.quiet_days)), evidence[: ctx.max_evidence])

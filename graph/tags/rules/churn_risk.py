"""Repeat buyers gone quiet (rule kind churn_risk)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed
from personagraph.graph.times import aware


class ChurnRisk(RuleParams):
    """At least min_orders orders, but none in the last quiet_days before as-of."""

    statement = "tags/rules/churn_risk"
    needs = ("orders",)
    min_orders: int = Field(2, ge=1)
    quiet_days: float = Field(180, gt=0)

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "since": ctx.as_of - timedelta(days=self.quiet_days),
            "asOf": ctx.as_of,
            "minOrders": self.min_orders,
        }

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        last = aware(row["lastAt"])
        quiet = ctx.days_since(last)
        evidence = [
            f"orders:{row['orders']}",
            f"last order:{row['lastOrder']} on {last.date().isoformat()} ({quiet:.0f} days before as-of)",
        ]
        return quiet / (2 * self.quiet_days), evidence

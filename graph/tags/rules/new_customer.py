"""A first order (or acquisition) in the last days (rule kind new_customer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from personagraph.graph.tags.rules.base import (
    EvalContext,
    GraphInputs,
    InputName,
    Prepared,
    Row,
    RuleParams,
    Weighed,
)
from personagraph.graph.times import aware


class NewCustomer(RuleParams):
    """First order (or acquisition, by `basis`) within the last `days` before as-of."""

    statement = "tags/rules/new_customer"
    days: float = Field(30, gt=0)
    basis: Literal["first_order", "acquisition"] = "first_order"

    def missing(self, inputs: GraphInputs) -> str | None:
        return inputs.lacking(["acquisitions" if self.basis == "acquisition" else "orders"])

    def reads(self) -> frozenset[InputName]:
        return frozenset({"acquisitions", "orders"})

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"since": ctx.as_of - timedelta(days=self.days), "asOf": ctx.as_of, "basis": self.basis}

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        at = aware(row["at"])
        age = ctx.days_since(at)
        if row["order"] is not None:
            first = f"first order:{row['order']} on {at.date().isoformat()}"
        else:
            first = f"acquired via {row['channel'] or 'unknown channel'} on {at.date().isoformat()}"
        return 1.0 - age / self.days, [first, f"{age:.0f} days before as-of"]

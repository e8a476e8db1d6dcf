"""A first order (or acquisition) in the last days (rule kind new_customer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar, Literal

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


class NewCustomer(RuleParams):
    """First order (or acquisition, by `basis`) within the last `days` before as-of."""

    statement: ClassVar[str] = "tags/rules/new_customer"
    days: float = Field(30, gt=0)
    basis: Literal["first_order", "acquisition"] = "first_order"

    def missing(self, inputs: GraphInputs) -> str | None:
        if self.basis == "acquisition":
            return first_missing(
                (inputs.acquisitions, "no user has an acquisition time (at or before as-of)")
            )
        return first_missing((inputs.orders, NO_ORDERS))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"since": ctx.as_of - timedelta(days=self.days), "asOf": ctx.as_of, "basis": self.basis}

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        at = native(row["at"])
        age = in_days(ctx.as_of - at)
        if row["order"] is not None:
            first = f"first order:{row['order']} on {at.date().isoformat()}"
        else:
            first = f"acquired via {row['channel'] or 'unknown channel'} on {at.date().isoformat()}"
        evidence = [first, f"{age:.0f} days before as-of"]
        return Match(row["userId"], clamp(1.0 - age / self.days), evidence[: ctx.max_evidence])

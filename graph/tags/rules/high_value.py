"""Big spenders over a window, by amount and/or top percent (rule kind high_value)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, model_validator

from personagraph.graph.store import GraphStore
from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed


class HighValue(RuleParams):
    """Spend over the last window_days >= min_amount and/or within the top top_percent of buyers."""

    statement = "tags/rules/high_value"
    needs = ("orders", "priced_lines")
    window_days: float = Field(365, gt=0)
    min_amount: float | None = Field(None, ge=0)
    top_percent: float | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _one_bar(self) -> HighValue:
        if self.min_amount is None and self.top_percent is None:
            raise ValueError("neither min_amount nor top_percent is set; expected at least one of them")
        return self

    def _since(self, ctx: EvalContext) -> datetime:
        return ctx.as_of - timedelta(days=self.window_days)

    def prepare(self, store: GraphStore, ctx: EvalContext) -> Prepared:
        record = store.read(
            "tags/rules/high_value_cutoff",
            since=self._since(ctx),
            asOf=ctx.as_of,
            percentile=1.0 - (self.top_percent or 100.0) / 100.0,
        )[0]
        window = f"in the {self.window_days:g} days before as-of"
        if not record["buyers"]:
            return Prepared(reason=f"no orders {window}")
        if not record["spenders"]:
            return Prepared(reason=f"no order line {window} has a price: every spend is 0")
        bar = self.min_amount or 0.0
        if self.top_percent is not None:
            bar = max(bar, float(record["cutoff"]))  # 0 when most buyers spent nothing: spend > 0 still holds
        return Prepared({"minAmount": bar})

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"since": self._since(ctx), "asOf": ctx.as_of, "maxEvidence": ctx.max_evidence}

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        bar = float(prepared.params["minAmount"])
        spend = float(row["spend"])
        evidence = [f"spend:{spend:.2f} in {row['orders']} orders over {self.window_days:g} days"] + [
            f"order:{t['order']} {t['amount']:.2f}" for t in row["top"]
        ]
        return 1.0 if bar <= 0 else spend / (2 * bar), evidence

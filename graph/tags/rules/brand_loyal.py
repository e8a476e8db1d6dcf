"""Most of a user's spend on one brand (rule kind brand_loyal)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from personagraph.graph.tags.rules.base import (
    NO_ORDERS,
    NO_SPEND,
    EvalContext,
    GraphInputs,
    Match,
    Prepared,
    Row,
    SpendShareRule,
    clamp,
    first_missing,
)


class BrandLoyal(SpendShareRule):
    """Share of spend on one brand >= threshold, over at least min_orders orders holding that brand."""

    statement: ClassVar[str] = "tags/rules/brand_loyal"
    threshold: float = Field(0.6, gt=0, le=1)
    min_orders: int = Field(3, ge=1)

    def missing(self, inputs: GraphInputs) -> str | None:
        return first_missing(
            (inputs.orders, NO_ORDERS),
            (inputs.priced_lines, NO_SPEND),
            (inputs.brands, "no ordered product has a brand"),
        )

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        share = float(row["spent"]) / float(row["total"])
        evidence = [f"brand:{row['brand']} {share:.0%} of spend in {row['orderCount']} orders"] + [
            f"order:{o}" for o in row["orders"]
        ]
        return Match(row["userId"], clamp(share), evidence[: ctx.max_evidence])

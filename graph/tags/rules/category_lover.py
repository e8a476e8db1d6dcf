"""Most of a user's spend in one top-level category, one tag per category (rule kind category_lover)."""

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


class CategoryLover(SpendShareRule):
    """Share of spend in one top-level category >= threshold; one tag per category ('{category}')."""

    statement: ClassVar[str] = "tags/rules/category_lover"
    templated: ClassVar[bool] = True
    threshold: float = Field(0.5, gt=0, le=1)
    min_orders: int = Field(2, ge=1)

    def missing(self, inputs: GraphInputs) -> str | None:
        return first_missing(
            (inputs.orders, NO_ORDERS),
            (inputs.priced_lines, NO_SPEND),
            (inputs.categories, "no ordered product is in a category"),
        )

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        share = float(row["spent"]) / float(row["total"])
        evidence = [
            f"category:{row['category']} {share:.0%} of spend ({row['spent']:.2f} of {row['total']:.2f})"
        ] + [f"order:{o}" for o in row["orders"]]
        return Match(row["userId"], clamp(share), evidence[: ctx.max_evidence], key=row["category"])

"""Most of a user's spend in one top-level category, one tag per category (rule kind category_lover)."""

from __future__ import annotations

from pydantic import Field

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, SpendShareRule, Weighed


class CategoryLover(SpendShareRule):
    """Share of spend in one top-level category >= threshold; one tag per category ('{category}')."""

    statement = "tags/rules/category_lover"
    templated = True
    needs = (*SpendShareRule.needs, "categories")
    threshold: float = Field(0.5, gt=0, le=1)
    min_orders: int = Field(2, ge=1)

    def key(self, row: Row) -> str | None:
        category: str | None = row["category"]
        return category

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        share = self.share(row)
        evidence = [
            f"category:{row['category']} {share:.0%} of spend ({row['spent']:.2f} of {row['total']:.2f})"
        ] + [f"order:{o}" for o in row["orders"]]
        return share, evidence

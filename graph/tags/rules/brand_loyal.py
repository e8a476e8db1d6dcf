"""Most of a user's spend on one brand (rule kind brand_loyal)."""

from __future__ import annotations

from pydantic import Field

from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, SpendShareRule, Weighed


class BrandLoyal(SpendShareRule):
    """Share of spend on one brand >= threshold, over at least min_orders orders holding that brand."""

    statement = "tags/rules/brand_loyal"
    needs = (*SpendShareRule.needs, "brands")
    threshold: float = Field(0.6, gt=0, le=1)
    min_orders: int = Field(3, ge=1)

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        share = self.share(row)
        evidence = [f"brand:{row['brand']} {share:.0%} of spend in {row['orderCount']} orders"] + [
            f"order:{o}" for o in row["orders"]
        ]
        return share, evidence

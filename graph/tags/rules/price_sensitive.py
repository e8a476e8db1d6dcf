"""Bargain hunters: lines bought well below list price or among the cheapest (rule kind price_sensitive)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from personagraph.graph.store import GraphStore
from personagraph.graph.tags.rules.base import EvalContext, Prepared, Row, RuleParams, Weighed


class PriceSensitive(RuleParams):
    """Share of order lines bought >= min_discount below list price, or among the cheapest of a category."""

    statement = "tags/rules/price_sensitive"
    needs = ("orders", "list_prices")
    threshold: float = Field(0.6, ge=0, le=1)
    min_orders: int = Field(2, ge=1)
    min_discount: float = Field(0.1, gt=0, le=1)
    cheap_quantile: float = Field(0.15, ge=0, le=1)  # 0: ignore how cheap the product is

    def prepare(self, store: GraphStore, ctx: EvalContext) -> Prepared:
        if self.cheap_quantile == 0:
            return Prepared({"cheap": {}})
        rows = store.read("tags/rules/price_cheap_products", quantile=self.cheap_quantile)
        return Prepared({"cheap": {r["sku"]: r["category"] for r in rows}})

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "asOf": ctx.as_of,
            "minDiscount": self.min_discount,
            "minOrders": self.min_orders,
            "threshold": self.threshold,
            "maxEvidence": ctx.max_evidence,
        }

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        evidence = [f"bargains:{row['bargains']} of {row['lines']} lines"]
        for f in row["found"]:
            if f["discount"] >= self.min_discount - 1e-9:
                evidence.append(f"order:{f['order']} {f['sku']} {f['discount']:.0%} off")
            else:
                evidence.append(
                    f"order:{f['order']} {f['sku']} cheapest {self.cheap_quantile:.0%} of {f['category']}"
                )
        return row["bargains"] / row["lines"], evidence

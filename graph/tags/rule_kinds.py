"""Rule kinds: each a parameter model, the one catalog statement it runs, and how a match is weighed.

A rule file picks a kind by name from `KINDS` (an allow-list); its parameters only ever reach Cypher
as query parameters. The statement filters users; the kind turns each returned row into a weight in
0-1 (how strongly the rule holds) and short evidence strings (which events or orders made it true).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from personagraph.graph.store import GraphStore

Row = Mapping[str, Any]
VERBS = {
    "VIEWED": "viewed",
    "CLICKED": "clicked",
    "LIKED": "liked",
    "COMMENTED": "commented",
    "SHARED": "shared",
    "SEARCHED": "searched",
}


@dataclass(frozen=True)
class EvalContext:
    """What every evaluation shares: the time rules are judged at and how much evidence to keep."""

    as_of: datetime
    max_evidence: int


@dataclass(frozen=True)
class Match:
    """One user a rule holds for; `key` fills a tag template (the category of category_lover)."""

    user_id: str
    weight: float
    evidence: list[str]
    key: str | None = None


@dataclass(frozen=True)
class Prepared:
    """Values computed once over all users (cut-offs, cheap products) and passed with every batch."""

    params: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # why the rule is skipped: its input is missing (e.g. no influence run yet)

    @property
    def skip(self) -> bool:
        """Nothing can match: the rule holds for no one (and loses the tags it gave before)."""
        return self.reason is not None


NO_ORDERS = "no orders at or before as-of"
NO_SPEND = (
    "no order line at or before as-of has a price (neither a unit price nor the product's list price): "
    "every spend is 0"
)
NO_LIST_PRICES = "no product has a list price: no discount or cheap product can be told"
NO_EVENTS = "no behaviour events (views, clicks, likes, comments, shares, searches)"


@dataclass(frozen=True)
class GraphInputs:
    """Whether the graph holds what each rule kind reads, as of the evaluation (existence checks).

    A rule whose input is missing is skipped with the reason instead of judging on nothing: with no
    prices every spend is 0, and a top-5% bar of 0 would hold for every buyer.
    """

    orders: bool  # an order at or before as-of
    priced_lines: bool  # ...with a line worth more than 0
    list_prices: bool  # a product with a list price
    categories: bool  # an ordered product in a category
    brands: bool  # an ordered product with a brand
    acquisitions: bool  # a user with an acquisition time at or before as-of
    events: bool  # a behaviour event
    ties: bool  # a social tie between two users

    @classmethod
    def read(cls, store: GraphStore, as_of: datetime) -> GraphInputs:
        r = store.read("tags/rules/inputs", asOf=as_of)[0]
        return cls(
            orders=r["orders"],
            priced_lines=r["pricedLines"],
            list_prices=r["listPrices"],
            categories=r["categories"],
            brands=r["brands"],
            acquisitions=r["acquisitions"],
            events=r["events"],
            ties=r["ties"],
        )


def _first(*checks: tuple[bool, str]) -> str | None:
    """The reason of the first check that fails (a missing input), or None when all hold."""
    return next((reason for held, reason in checks if not held), None)


def native(value: Any) -> datetime:
    """A Neo4j DateTime (or a datetime) as an aware Python datetime."""
    moment: datetime = value.to_native() if hasattr(value, "to_native") else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clamp(value: float) -> float:
    """Weights are kept in 0-1, rounded so equal inputs give bit-equal weights."""
    return round(min(1.0, max(0.0, value)), 4)


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86_400


class RuleParams(BaseModel):
    """Base of every kind's parameters; unknown parameter names are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: ClassVar[str]
    templated: ClassVar[bool] = False  # one tag per key (tag id holds '{category}')

    def missing(self, inputs: GraphInputs) -> str | None:
        """Why the rule cannot be judged on this graph (its input is missing), or None."""
        return None

    def prepare(self, store: GraphStore, ctx: EvalContext) -> Prepared:
        """Global values for the statement; the default needs none."""
        return Prepared()

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        raise NotImplementedError

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        raise NotImplementedError


class NightActivity(RuleParams):
    """Share of behaviour events (hourCounts) in the night hours >= threshold, with enough events."""

    statement: ClassVar[str] = "tags/rules/night_activity"
    threshold: float = Field(0.5, ge=0, le=1)
    min_events: int = Field(10, ge=1)
    start_hour: int = Field(22, ge=0, le=23)
    end_hour: int = Field(4, ge=0, le=23)  # exclusive

    @model_validator(mode="after")
    def _span(self) -> NightActivity:
        if self.start_hour == self.end_hour:
            raise ValueError(f"end_hour {self.end_hour} equals start_hour; expected a span of 1-23 hours")
        return self

    def hours(self) -> list[int]:
        return [(self.start_hour + i) % 24 for i in range((self.end_hour - self.start_hour) % 24)]

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first((inputs.events, NO_EVENTS))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "nightHours": self.hours(),
            "minEvents": self.min_events,
            "threshold": self.threshold,
            "maxEvidence": ctx.max_evidence,
        }

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        evidence = [f"night:{row['night']} of {row['total']} events"] + [
            f"{VERBS.get(t['kind'], t['kind'].lower())}:{t['target']} x{t['count']} at night"
            for t in row["top"]
        ]
        return Match(row["userId"], clamp(row["night"] / row["total"]), evidence[: ctx.max_evidence])


class PriceSensitive(RuleParams):
    """Share of order lines bought >= min_discount below list price, or among the cheapest of a category."""

    statement: ClassVar[str] = "tags/rules/price_sensitive"
    threshold: float = Field(0.6, ge=0, le=1)
    min_orders: int = Field(2, ge=1)
    min_discount: float = Field(0.1, gt=0, le=1)
    cheap_quantile: float = Field(0.15, ge=0, le=1)  # 0: ignore how cheap the product is

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first((inputs.orders, NO_ORDERS), (inputs.list_prices, NO_LIST_PRICES))

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

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        evidence = [f"bargains:{row['bargains']} of {row['lines']} lines"]
        for f in row["found"]:
            if f["discount"] >= self.min_discount - 1e-9:
                evidence.append(f"order:{f['order']} {f['sku']} {f['discount']:.0%} off")
            else:
                evidence.append(
                    f"order:{f['order']} {f['sku']} cheapest {self.cheap_quantile:.0%} of {f['category']}"
                )
        return Match(row["userId"], clamp(row["bargains"] / row["lines"]), evidence[: ctx.max_evidence])


class HighValue(RuleParams):
    """Spend over the last window_days >= min_amount and/or within the top top_percent of buyers."""

    statement: ClassVar[str] = "tags/rules/high_value"
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

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first((inputs.orders, NO_ORDERS), (inputs.priced_lines, NO_SPEND))

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

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        bar = float(prepared.params["minAmount"])
        spend = float(row["spend"])
        evidence = [f"spend:{spend:.2f} in {row['orders']} orders over {self.window_days:g} days"] + [
            f"order:{t['order']} {t['amount']:.2f}" for t in row["top"]
        ]
        weight = 1.0 if bar <= 0 else spend / (2 * bar)
        return Match(row["userId"], clamp(weight), evidence[: ctx.max_evidence])


class NewCustomer(RuleParams):
    """First order (or acquisition, by `basis`) within the last `days` before as-of."""

    statement: ClassVar[str] = "tags/rules/new_customer"
    days: float = Field(30, gt=0)
    basis: Literal["first_order", "acquisition"] = "first_order"

    def missing(self, inputs: GraphInputs) -> str | None:
        if self.basis == "acquisition":
            return _first((inputs.acquisitions, "no user has an acquisition time (at or before as-of)"))
        return _first((inputs.orders, NO_ORDERS))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"since": ctx.as_of - timedelta(days=self.days), "asOf": ctx.as_of, "basis": self.basis}

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        at = native(row["at"])
        age = _days(ctx.as_of - at)
        if row["order"] is not None:
            first = f"first order:{row['order']} on {at.date().isoformat()}"
        else:
            first = f"acquired via {row['channel'] or 'unknown channel'} on {at.date().isoformat()}"
        evidence = [first, f"{age:.0f} days before as-of"]
        return Match(row["userId"], clamp(1.0 - age / self.days), evidence[: ctx.max_evidence])


class ChurnRisk(RuleParams):
    """At least min_orders orders, but none in the last quiet_days before as-of."""

    statement: ClassVar[str] = "tags/rules/churn_risk"
    min_orders: int = Field(2, ge=1)
    quiet_days: float = Field(180, gt=0)

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first((inputs.orders, NO_ORDERS))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "since": ctx.as_of - timedelta(days=self.quiet_days),
            "asOf": ctx.as_of,
            "minOrders": self.min_orders,
        }

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        last = native(row["lastAt"])
        quiet = _days(ctx.as_of - last)
        evidence = [
            f"orders:{row['orders']}",
            f"last order:{row['lastOrder']} on {last.date().isoformat()} ({quiet:.0f} days before as-of)",
        ]
        return Match(row["userId"], clamp(quiet / (2 * self.quiet_days)), evidence[: ctx.max_evidence])


class SpendShareRule(RuleParams):
    """Rules on one share of a user's spend: the same query parameters for each."""

    threshold: float
    min_orders: int

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "asOf": ctx.as_of,
            "minOrders": self.min_orders,
            "threshold": self.threshold,
            "maxEvidence": ctx.max_evidence,
        }


class CategoryLover(SpendShareRule):
    """Share of spend in one top-level category >= threshold; one tag per category ('{category}')."""

    statement: ClassVar[str] = "tags/rules/category_lover"
    templated: ClassVar[bool] = True
    threshold: float = Field(0.5, gt=0, le=1)
    min_orders: int = Field(2, ge=1)

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first(
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


class BrandLoyal(SpendShareRule):
    """Share of spend on one brand >= threshold, over at least min_orders orders holding that brand."""

    statement: ClassVar[str] = "tags/rules/brand_loyal"
    threshold: float = Field(0.6, gt=0, le=1)
    min_orders: int = Field(3, ge=1)

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first(
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


class SocialConnector(RuleParams):
    """Tied to at least min_degree distinct users (friends, follows and referrals, either way)."""

    statement: ClassVar[str] = "tags/rules/social_connector"
    min_degree: int = Field(20, ge=1)

    def missing(self, inputs: GraphInputs) -> str | None:
        return _first((inputs.ties, "no social ties (friends, follows, referrals)"))

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {"minDegree": self.min_degree}

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        parts = [
            ("friends", row["friends"]),
            ("following", row["following"]),
            ("followers", row["followers"]),
        ]
        parts.append(("referred", row["referrals"]))
        evidence = [f"degree:{row['degree']}"] + [f"{name}:{n}" for name, n in parts if n]
        weight = row["degree"] / (2 * self.min_degree)
        return Match(row["userId"], clamp(weight), evidence[: ctx.max_evidence])


class Influencer(RuleParams):
    """influenceRank (from `persona analyze influence`) <= max_rank and/or within the top top_percent."""

    statement: ClassVar[str] = "tags/rules/influencer"
    max_rank: int | None = Field(None, ge=1)
    top_percent: float | None = Field(None, gt=0, le=100)

    @model_validator(mode="after")
    def _one_bar(self) -> Influencer:
        if self.max_rank is None and self.top_percent is None:
            raise ValueError("neither max_rank nor top_percent is set; expected at least one of them")
        return self

    def prepare(self, store: GraphStore, ctx: EvalContext) -> Prepared:
        ranked = int(store.read("tags/rules/influencer_ranked")[0]["ranked"])
        cutoff = self.max_rank if self.max_rank is not None else ranked
        if self.top_percent is not None:
            cutoff = min(cutoff, math.ceil(ranked * self.top_percent / 100.0))
        if ranked == 0:
            return Prepared(reason="no influence ranks: run `persona analyze influence` first")
        return Prepared({"maxRank": cutoff, "ranked": ranked})

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {}

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        cutoff = int(prepared.params["maxRank"])
        rank = int(row["rank"])
        evidence = [f"influenceRank:{rank} of {prepared.params['ranked']}"]
        if row["score"] is not None:
            evidence.append(f"influence:{row['score']:.6f}")
        evidence += [
            f"{name}:{row[key]}" for name, key in (("degree", "degree"), ("reach2", "reach")) if row[key]
        ]
        if row["runId"]:
            evidence.append(f"run:{row['runId']}")
        weight = 1.0 - 0.5 * (rank - 1) / max(cutoff - 1, 1)
        return Match(row["userId"], clamp(weight), evidence[: ctx.max_evidence])


KINDS: dict[str, type[RuleParams]] = {
    "night_activity": NightActivity,
    "price_sensitive": PriceSensitive,
    "high_value": HighValue,
    "new_customer": NewCustomer,
    "churn_risk": ChurnRisk,
    "category_lover": CategoryLover,
    "brand_loyal": BrandLoyal,
    "social_connector": SocialConnector,
    "influencer": Influencer,
}

"""What every rule kind shares: the parameter base, the evaluation context, a match, and the graph's inputs.

Each kind (one module beside this one, named after it) is a `RuleParams` subclass: its parameters, the
catalog statement it runs (cypher/tags/rules/<kind>.cypher) and how a returned row is weighed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from personagraph.graph.store import GraphStore

Row = Mapping[str, Any]


@dataclass(frozen=True)
class EvalContext:
    """What every evaluation shares: the time rules are judged at and how much evidence to keep."""

    as_of: datetime
    max_evidence: int

    def days_since(self, moment: datetime) -> float:
        """How many days (fractional) before as-of `moment` is."""
        return (self.as_of - moment).total_seconds() / 86_400


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

# What a kind may need the graph to hold (a GraphInputs field), and why it is skipped when the graph lacks it.
InputName = Literal[
    "orders",
    "priced_lines",
    "list_prices",
    "categories",
    "brands",
    "acquisitions",
    "events",
    "ties",
    "surveys",
]
LACKING: dict[InputName, str] = {
    "orders": NO_ORDERS,
    "priced_lines": NO_SPEND,
    "list_prices": NO_LIST_PRICES,
    "categories": "no ordered product is in a category",
    "brands": "no ordered product has a brand",
    "acquisitions": "no user has an acquisition time (at or before as-of)",
    "events": NO_EVENTS,
    "ties": "no social ties (friends, follows, referrals)",
    "surveys": "no survey answers (survey_answers files, docs/surveys.md)",
}
# What the survey rule kinds read: a change of a user's survey consent re-runs them for the user.
SURVEY_INPUTS: tuple[InputName, ...] = ("surveys",)
# What a kind makes of one returned row: the weight (clamped to 0-1 after) and the evidence (cut after).
Weighed = tuple[float, list[str]]


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
    surveys: bool  # a user's answer to a survey question

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
            surveys=r["surveys"],
        )

    def lacking(self, needs: Iterable[InputName]) -> str | None:
        """Why a rule needing these inputs is skipped: the first this graph lacks, or None."""
        return next((LACKING[name] for name in needs if not getattr(self, name)), None)


def clamp(value: float) -> float:
    """Weights are kept in 0-1, rounded so equal inputs give bit-equal weights."""
    return round(min(1.0, max(0.0, value)), 4)


class RuleParams(BaseModel):
    """Base of every kind's parameters; unknown parameter names are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: ClassVar[str]  # the catalog statement: tags/rules/<kind>
    templated: ClassVar[bool] = False  # one tag per key (tag id holds '{category}')
    needs: ClassVar[tuple[InputName, ...]] = ()  # what the graph must hold for the rule to be judged

    def missing(self, inputs: GraphInputs) -> str | None:
        """Why the rule cannot be judged on this graph (an input it needs is missing), or None."""
        return inputs.lacking(self.needs)

    def reads(self) -> frozenset[InputName]:
        """What the rule's judgement depends on: a change to anything else leaves it as it was (the
        folding worker re-evaluates only the rules that read what a batch of events changed)."""
        return frozenset(self.needs)

    def prepare(self, store: GraphStore, ctx: EvalContext) -> Prepared:
        """Global values for the statement; the default needs none."""
        return Prepared()

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        raise NotImplementedError

    def weigh(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Weighed:
        """How strongly the rule holds for the row's user, and the evidence why."""
        raise NotImplementedError

    def key(self, row: Row) -> str | None:
        """The key a templated rule's tag is for (the category of category_lover); None for one tag."""
        return None

    def to_match(self, row: Row, ctx: EvalContext, prepared: Prepared) -> Match:
        """The row's user as a match: the weight kept in 0-1, the evidence cut to ctx.max_evidence."""
        weight, evidence = self.weigh(row, ctx, prepared)
        return Match(row["userId"], clamp(weight), evidence[: ctx.max_evidence], key=self.key(row))


class SpendShareRule(RuleParams):
    """Rules on one share of a user's spend: the same inputs and query parameters for each."""

    needs: ClassVar[tuple[InputName, ...]] = ("orders", "priced_lines")
    threshold: float
    min_orders: int

    def share(self, row: Row) -> float:
        """The share of the user's spend the row is about (a category's, a brand's)."""
        return float(row["spent"]) / float(row["total"])

    def query_params(self, ctx: EvalContext) -> dict[str, Any]:
        return {
            "asOf": ctx.as_of,
            "minOrders": self.min_orders,
            "threshold": self.threshold,
            "maxEvidence": ctx.max_evidence,
        }

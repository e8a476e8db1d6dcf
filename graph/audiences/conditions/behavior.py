"""``behavior``: bought, viewed, clicked, liked, commented on or shared a product, a brand or a category
(with its subcategories), inside a time window (``lastDays`` or ``from``/``to``), at least ``minCount``
times. Orders count once each; events come from the aggregated edge the loader keeps per user and
target (a count and the first and last time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from personagraph.graph.audiences.conditions.context import Context, at_least, where
from personagraph.graph.audiences.model import BehaviorCondition

EVENT_TYPES = {
    "viewed": "VIEWED",
    "clicked": "CLICKED",
    "liked": "LIKED",
    "commented": "COMMENTED",
    "shared": "SHARED",
}


@dataclass(frozen=True)
class BehaviorMatch:
    """One behaviour as a pattern from the user, with the variables a count needs."""

    pattern: str
    where: str | None  # at least one matching event or order inside the window
    item: str  # what is counted: the order (bought) or the aggregated event edge
    repeats: bool  # one user can match through several rows
    inside: str | None = None  # events: all of the edge's events are inside the window


def behaved(b: BehaviorCondition, var: str, ctx: Context) -> str:
    """True when the user bound to ``var`` did it at least ``minCount`` times in the window."""
    m = behavior_match(b, var, ctx)
    match = f"{m.pattern}{where(m.where)}"
    if b.minCount == 1 or b.action == "bought":  # orders, each counted once however many matching lines
        return at_least(b.minCount, match, m.item, ctx)
    n = ctx.param(b.minCount)
    return f"reduce(s = 0, c IN COLLECT {{ MATCH {match} RETURN {events(m)} }} | s + c) >= {n}"


def behavior_match(b: BehaviorCondition, var: str, ctx: Context) -> BehaviorMatch:
    """The pattern and window filter of one behaviour, starting from the user bound to ``var``."""
    bounds = _window(b, ctx)
    target = _target(b, ctx.var("x"), ctx)
    if b.action == "bought":
        order = ctx.var("o")
        pattern = f"({var})-[:PLACED]->({order}:Order)-[:CONTAINS]->{target}"
        return BehaviorMatch(pattern, _within(f"{order}.orderedAt", bounds), order, True)
    edge = ctx.var("r")
    first, last = _within(f"{edge}.firstAt", bounds), _within(f"{edge}.lastAt", bounds)
    pattern = f"({var})-[{edge}:{EVENT_TYPES[b.action]}]->{target}"
    if first is None or last is None:
        return BehaviorMatch(pattern, None, edge, b.sku is None)
    return BehaviorMatch(pattern, f"(({first}) OR ({last}))", edge, b.sku is None, f"({first} AND {last})")


def events(m: BehaviorMatch) -> str:
    """Events one aggregated edge proves inside the window: a provable lower bound, as an edge keeps
    only its count and first/last time. Both ends inside: all of them; one end inside: one."""
    return f"CASE WHEN {m.inside} THEN {m.item}.count ELSE 1 END" if m.inside else f"{m.item}.count"


def _target(b: BehaviorCondition, product: str, ctx: Context) -> str:
    """The product pattern a behaviour points at; a category includes its subcategories."""
    if b.sku is not None:
        return f"({product}:Product {{sku: {ctx.param(b.sku)}}})"
    if b.brand is not None:  # brand ids are the lower-cased brand name (graph/records.py)
        return f"({product}:Product)-[:OF_BRAND]->(:Brand {{brandId: {ctx.param(b.brand.lower())}}})"
    assert b.category is not None
    return (
        f"({product}:Product)-[:IN_CATEGORY]->(:Category)-[:SUBCATEGORY_OF*0..]->"
        f"(:Category {{categoryId: {ctx.param(b.category)}}})"
    )


def _window(b: BehaviorCondition, ctx: Context) -> tuple[str | None, str | None]:
    """The window's bounds as parameter references (None: open on that side)."""
    start = ctx.now - timedelta(days=b.lastDays) if b.lastDays is not None else b.from_
    return (ctx.param(start) if start else None, ctx.param(b.to) if b.to else None)


def _within(time: str, bounds: tuple[str | None, str | None]) -> str | None:
    parts = [f"{time} >= {bounds[0]}" if bounds[0] else "", f"{time} <= {bounds[1]}" if bounds[1] else ""]
    kept = [p for p in parts if p]
    return " AND ".join(kept) if kept else None

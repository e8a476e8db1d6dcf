"""Definition tree -> Cypher boolean expressions over one user variable (see compile.py for statements).

With compile.py, this is the one place in personagraph that builds Cypher text at run time: an audience is an
arbitrary tree, so no fixed catalog file can express it. The text is assembled only from constant
fragments in this module; property names come from ``model.USER_FIELDS``, relationship types and
hop bounds from the tables below, variable names from a counter. Every value a user gave reaches
Neo4j as a ``$pN`` parameter, never as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from personagraph.graph.audiences.model import (
    INDEXED_FIELDS,
    USER_FIELDS,
    AcquiredViaNode,
    AndNode,
    AttributeNode,
    BehaviorCondition,
    BehaviorNode,
    CommunityNode,
    Condition,
    FollowersNode,
    FriendsNode,
    InfluenceNode,
    LifecycleNode,
    NotNode,
    OrNode,
    PersonaNode,
    ReferralHopsNode,
    TagCondition,
    TagNode,
)

COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
EVENT_TYPES = {
    "viewed": "VIEWED",
    "clicked": "CLICKED",
    "liked": "LIKED",
    "commented": "COMMENTED",
    "shared": "SHARED",
}
HOPS = {1: "*1..1", 2: "*1..2", 3: "*1..3"}


@dataclass
class Context:
    """Parameters and variable names of the statement being built."""

    now: datetime
    params: dict[str, Any] = field(default_factory=dict)
    counter: int = 0

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def var(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


def _prop(var: str, name: str) -> str:
    if name not in USER_FIELDS:  # the model already refused it; this keeps the text closed anyway
        raise ValueError(f"not an allowed User property: {name!r}")
    return f"{var}.{name}"


def _all(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def predicate(node: Condition, var: str, ctx: Context) -> str:
    """A boolean Cypher expression true when the user bound to ``var`` meets ``node``."""
    if isinstance(node, AndNode):
        return _all([predicate(c, var, ctx) for c in node.and_])
    if isinstance(node, OrNode):
        return "(" + " OR ".join(predicate(c, var, ctx) for c in node.or_) + ")"
    if isinstance(node, NotNode):  # a missing property compares as null: treat it as false first
        return f"NOT coalesce({predicate(node.not_, var, ctx)}, false)"
    if isinstance(node, TagNode):
        edge = ctx.var("h")
        where = tag_edge(node.tag, edge, ctx)
        tag = ctx.param(node.tag.tagId)
        where = f" WHERE {where}" if where else ""
        return f"EXISTS {{ MATCH ({var})-[{edge}:HAS_TAG]->(:Tag {{tagId: {tag}}}){where} }}"
    if isinstance(node, BehaviorNode):
        return _behavior(node.behavior, var, ctx)
    if isinstance(node, AcquiredViaNode):
        channel = ctx.param(node.acquiredVia.channelId)
        return f"EXISTS {{ MATCH ({var})-[:ACQUIRED_VIA]->(:Channel {{channelId: {channel}}}) }}"
    if isinstance(node, FriendsNode | FollowersNode | ReferralHopsNode):
        return _relational(node, var, ctx)
    return _property(node, var, ctx)


def _property(node: Condition, var: str, ctx: Context) -> str:
    """Conditions on the user's own properties (no subquery)."""
    if isinstance(node, LifecycleNode):
        return f"{_prop(var, 'lifecycle')} IN {ctx.param(node.lifecycle.in_)}"
    if isinstance(node, PersonaNode):
        return f"{_prop(var, 'persona')} IN {ctx.param(node.persona.in_)}"
    if isinstance(node, CommunityNode):
        return f"{_prop(var, 'socialCommunity')} IN {ctx.param(node.community.in_)}"
    if isinstance(node, InfluenceNode):
        c = node.influence
        parts = [
            f"{_prop(var, prop)} {op} {ctx.param(bound)}"
            for prop, op, bound in (
                ("influenceRank", ">=", c.minRank),
                ("influenceRank", "<=", c.maxRank),
                ("influence", ">=", c.minScore),
                ("influence", "<=", c.maxScore),
            )
            if bound is not None
        ]
        return _all(parts)
    assert isinstance(node, AttributeNode), type(node)
    a = node.attribute
    prop = _prop(var, a.field)
    if a.op == "exists":
        return f"{prop} IS NOT NULL" if a.value else f"{prop} IS NULL"
    if a.op == "in":
        return f"{prop} IN {ctx.param(a.value)}"
    if a.op == "between":
        return f"({prop} >= {ctx.param(a.value[0])} AND {prop} <= {ctx.param(a.value[1])})"
    return f"{prop} {COMPARE[a.op]} {ctx.param(a.value)}"


def tag_edge(tag: TagCondition, edge: str, ctx: Context) -> str | None:
    """Filter on a HAS_TAG edge: not expired (unless asked), at least the weight asked for."""
    parts = (
        []
        if tag.includeExpired
        else [f"({edge}.expiresAt IS NULL OR {edge}.expiresAt > {ctx.param(ctx.now)})"]
    )
    if tag.minWeight is not None:
        parts.append(f"{edge}.weight >= {ctx.param(tag.minWeight)}")
    return " AND ".join(parts) or None


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


@dataclass(frozen=True)
class BehaviorMatch:
    """One behaviour as a pattern from the user, with the variables a count needs."""

    pattern: str
    where: str | None  # at least one matching event or order inside the window
    item: str  # what is counted: the order (bought) or the aggregated event edge
    repeats: bool  # one user can match through several rows
    inside: str | None = None  # events: all of the edge's events are inside the window


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


def _behavior(b: BehaviorCondition, var: str, ctx: Context) -> str:
    m = behavior_match(b, var, ctx)
    where = f" WHERE {m.where}" if m.where else ""
    if b.minCount == 1:
        return f"EXISTS {{ MATCH {m.pattern}{where} }}"
    n = ctx.param(b.minCount)
    if b.action == "bought":  # orders, each counted once however many matching lines it has
        return f"COUNT {{ MATCH {m.pattern}{where} RETURN DISTINCT {m.item} }} >= {n}"
    return f"reduce(s = 0, c IN COLLECT {{ MATCH {m.pattern}{where} RETURN {events(m)} }} | s + c) >= {n}"


def events(m: BehaviorMatch) -> str:
    """Events one aggregated edge proves inside the window: a provable lower bound, as an edge keeps
    only its count and first/last time. Both ends inside: all of them; one end inside: one."""
    return f"CASE WHEN {m.inside} THEN {m.item}.count ELSE 1 END" if m.inside else f"{m.item}.count"


def _relational(node: FriendsNode | FollowersNode | ReferralHopsNode, var: str, ctx: Context) -> str:
    other = ctx.var("v")
    if isinstance(node, ReferralHopsNode):
        r = node.referralHops
        pattern = f"({var})-[:REFERRED{HOPS[r.maxHops]}]-({other}:User"
        if r.userId is not None:
            return f"EXISTS {{ MATCH {pattern} {{userId: {ctx.param(r.userId)}}}) WHERE {other} <> {var} }}"
        assert r.of is not None
        return f"EXISTS {{ MATCH {pattern}) WHERE {other} <> {var} AND {predicate(r.of, other, ctx)} }}"
    ties = node.friends if isinstance(node, FriendsNode) else node.followers
    step = "-[:FRIEND_OF]-" if isinstance(node, FriendsNode) else "<-[:FOLLOWS]-"
    where = f" WHERE {predicate(ties.who, other, ctx)}" if ties.who else ""
    if ties.atLeast == 1:
        return f"EXISTS {{ MATCH ({var}){step}({other}:User){where} }}"
    n = ctx.param(ties.atLeast)
    return f"COUNT {{ MATCH ({var}){step}({other}:User){where} RETURN DISTINCT {other} }} >= {n}"


def is_simple(node: Condition) -> bool:
    """Only the user's own properties: can sit in the anchoring MATCH's WHERE (and use its indexes)."""
    if isinstance(node, AndNode | OrNode | NotNode):
        return all(is_simple(c) for c in node.children())
    return isinstance(node, AttributeNode | LifecycleNode | PersonaNode | CommunityNode | InfluenceNode)


def indexed(node: Condition) -> bool:
    if isinstance(node, LifecycleNode | PersonaNode | CommunityNode):
        return True
    """An equality on an indexed User property: a MATCH can start from its index."""
    if not isinstance(node, AttributeNode):
        return False
    return node.attribute.field in INDEXED_FIELDS and node.attribute.op in ("eq", "in")

"""Definition tree -> ONE parameterised Cypher statement (count, a page of members, a breakdown, ...).

Together with conditions/ (one module per kind of condition) this is the only code in personagraph
that builds Cypher text at run time: an audience is an arbitrary tree, so no fixed catalog file can
express it. The text comes only from constant fragments here and in conditions/; property names
from ``model.USER_FIELDS``; variable names from a counter. Every value a user gave is a ``$pN``
parameter. Paging values are ``$after``, ``$limit``; membership checks take ``$ids``.

Planning: the root's conjuncts are split into property filters (they go into the WHERE of the MATCH
that binds the user, where Neo4j can use the User indexes) and the rest. One conjunct may become the
*anchor*, the pattern the MATCH starts from, so the planner can begin at the most selective index:
a referral origin user, a tag, a bought/viewed product, brand or category, or the sub-audience of a
``friends``/``followers``/``referralHops`` condition (matched first, then expanded to its neighbours
and counted). Without one it is ``MATCH (u:User)`` and the rest are ``EXISTS {}``/``COUNT {}`` filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from personagraph.graph.audiences.conditions import Context, indexed, is_simple, predicate
from personagraph.graph.audiences.conditions.behavior import behavior_match, events
from personagraph.graph.audiences.conditions.referral_hops import HOPS
from personagraph.graph.audiences.conditions.tags import tag_match
from personagraph.graph.audiences.model import (
    BREAKDOWN_FIELDS,
    USER_FIELDS,
    AndNode,
    AudienceError,
    BehaviorCondition,
    BehaviorNode,
    Condition,
    FollowersNode,
    FriendsNode,
    ReferralHopsNode,
    TagNode,
)
from personagraph.graph.kinds import Purpose

ROOT = "u"
# Per purpose: (filter keeping the users it may use, expression true for users it leaves out).
CONSENT: dict[Purpose, tuple[str | None, str]] = {
    Purpose.MARKETING: ("u.marketingConsent = true", "coalesce(u.marketingConsent, false) <> true"),
    Purpose.PERSONALISED: (
        "coalesce(u.personalizationOptOut, false) <> true",
        "u.personalizationOptOut = true",
    ),
    Purpose.ANALYSIS: (None, "false"),
    # delivered to ad platforms (graph/activation/): only users who said yes to advertising
    Purpose.ADVERTISING: ("u.advertisingConsent = true", "coalesce(u.advertisingConsent, false) <> true"),
}


@dataclass(frozen=True)
class Statement:
    """Cypher text and its parameters, for ``GraphStore.read_statement``; ``name`` says which kind of
    statement it is in logs (a timeout names it, as it names a catalog file)."""

    text: str
    params: dict[str, Any]
    name: str = "audience"


@dataclass(frozen=True)
class Plan:
    """Clauses that bind each member to one variable once: ``head`` ends in the MATCH binding it."""

    head: str
    head_where: list[str]
    collapse: str | None = None  # WITH DISTINCT / WITH ... count(): one row per member
    tail_where: list[str] = field(default_factory=list)
    ordered: bool = False  # a plain scan: walking the userId index in order may end a page early

    def render(self, extra: Sequence[str] = (), last: Sequence[str] = ()) -> str:
        """The clauses, with ``extra`` filters on the member in the head's WHERE (pruning early) and
        ``last`` ones after the collapse, if any (once per member rather than once per row)."""
        tail = [*self.tail_where, *last]
        head = [*self.head_where, *extra] + ([] if self.collapse else tail)
        lines = [self.head] + ([f"WHERE {' AND '.join(head)}"] if head else [])
        if self.collapse:
            lines.append(self.collapse + (f" WHERE {' AND '.join(tail)}" if tail else ""))
        return "\n".join(lines)


def plan(node: Condition, var: str, ctx: Context) -> Plan:
    """Choose the anchor among the root's conjuncts and place every other conjunct."""
    conjuncts = list(node.and_) if isinstance(node, AndNode) else [node]
    simple = [c for c in conjuncts if is_simple(c)]
    others = [c for c in conjuncts if not is_simple(c)]
    has_index = any(indexed(c) for c in simple)
    anchor = _choose_anchor(others, has_index)
    head = _anchor(anchor, var, ctx) if anchor is not None else Plan(f"MATCH ({var}:User)", [])
    props = [predicate(c, var, ctx) for c in simple]
    rest = [predicate(c, var, ctx) for c in others if c is not anchor]
    ordered = anchor is None and not has_index
    return Plan(head.head, head.head_where + props, head.collapse, head.tail_where + rest, ordered)


def _choose_anchor(others: list[Condition], has_indexed_property: bool) -> Condition | None:
    """Referral origin, tag and behaviour patterns first (Neo4j then still weighs the property
    indexes in the same MATCH); a sub-audience only when no property index can start the match."""
    ranked: list[tuple[int, Condition]] = []
    for c in others:
        if isinstance(c, ReferralHopsNode) and c.referralHops.userId is not None:
            ranked.append((0, c))
        elif isinstance(c, TagNode):
            ranked.append((1, c))
        elif isinstance(c, BehaviorNode):
            ranked.append((2, c))
        elif not has_indexed_property and _sub_audience(c) is not None:
            ranked.append((3, c))
    return min(ranked, key=lambda r: r[0])[1] if ranked else None


def _sub_audience(c: Condition) -> Condition | None:
    if isinstance(c, FriendsNode | FollowersNode):
        return (c.friends if isinstance(c, FriendsNode) else c.followers).who
    return c.referralHops.of if isinstance(c, ReferralHopsNode) else None


def _anchor(c: Condition, var: str, ctx: Context) -> Plan:
    """The MATCH that starts from ``c``'s pattern, with ``c`` fully applied."""
    if isinstance(c, TagNode):
        pattern, where = tag_match(c.tag, f"{var}:User", ctx)
        return Plan(f"MATCH {pattern}", [where] if where else [])  # MERGE: one HAS_TAG per user and tag
    if isinstance(c, BehaviorNode):
        return _behavior_anchor(c.behavior, var, ctx)
    assert isinstance(c, FriendsNode | FollowersNode | ReferralHopsNode), type(c)
    return _relational_anchor(c, var, ctx)


def _behavior_anchor(b: BehaviorCondition, var: str, ctx: Context) -> Plan:
    """Users reached backwards from the product, brand or category; several matches are summed."""
    m = behavior_match(b, f"{var}:User", ctx)
    where = [m.where] if m.where else []
    if b.minCount == 1:
        return Plan(f"MATCH {m.pattern}", where, f"WITH DISTINCT {var}" if m.repeats else None)
    n = ctx.var("n")
    amount = f"count(DISTINCT {m.item})" if b.action == "bought" else f"sum({events(m)})"
    return Plan(
        f"MATCH {m.pattern}", where, f"WITH {var}, {amount} AS {n}", [f"{n} >= {ctx.param(b.minCount)}"]
    )


def _stream(node: Condition, var: str, ctx: Context) -> str:
    """A sub-audience as clauses ending in a horizon (DISTINCT or aggregation), so Neo4j plans it
    first and expands from its members rather than from every user."""
    sub = plan(node, var, ctx)
    return sub.render() + ("" if sub.collapse else f"\nWITH DISTINCT {var}")


def _relational_anchor(c: FriendsNode | FollowersNode | ReferralHopsNode, var: str, ctx: Context) -> Plan:
    """Start from a referral origin, or match the sub-audience first and expand to its neighbours."""
    if isinstance(c, ReferralHopsNode) and c.referralHops.userId is not None:
        origin = ctx.var("a")
        start = f"({origin}:User {{userId: {ctx.param(c.referralHops.userId)}}})"
        match = f"MATCH {start}-[:REFERRED{HOPS[c.referralHops.maxHops]}]-({var}:User)"
        return Plan(match, [f"{var} <> {origin}"], f"WITH DISTINCT {var}")
    other = ctx.var("v")
    if isinstance(c, ReferralHopsNode):
        assert c.referralHops.of is not None
        inner = _stream(c.referralHops.of, other, ctx)
        match = f"{inner}\nMATCH ({other})-[:REFERRED{HOPS[c.referralHops.maxHops]}]-({var}:User)"
        return Plan(match, [f"{var} <> {other}"], f"WITH DISTINCT {var}")
    ties = c.friends if isinstance(c, FriendsNode) else c.followers
    assert ties.who is not None
    inner = _stream(ties.who, other, ctx)
    step = f"({other})-[:FRIEND_OF]-" if isinstance(c, FriendsNode) else f"({other})-[:FOLLOWS]->"
    match = f"{inner}\nMATCH {step}({var}:User)"
    if ties.atLeast == 1:
        return Plan(match, [], f"WITH DISTINCT {var}")
    # A stream yields each sub-audience member once, and the loader keeps one tie per pair and kind
    # (MERGE; friendship stored once), so counting rows counts distinct neighbours.
    n = ctx.var("n")
    return Plan(match, [], f"WITH {var}, count({other}) AS {n}", [f"{n} >= {ctx.param(ties.atLeast)}"])


def _start(root: Condition, now: datetime | None) -> tuple[Context, Plan]:
    ctx = Context(now or datetime.now(UTC))
    return ctx, plan(root, ROOT, ctx)


def _keep(purpose: Purpose) -> list[str]:
    keep = CONSENT[purpose][0]
    return [keep] if keep else []


def count_statement(root: Condition, purpose: Purpose, *, now: datetime | None = None) -> Statement:
    """Members (``total``) and those the purpose leaves out (``excluded``), without collecting them."""
    ctx, p = _start(root, now)
    excluded = CONSENT[purpose][1]
    text = p.render() + f"\nRETURN count(*) AS total, count(CASE WHEN {excluded} THEN 1 END) AS excluded"
    return Statement(text, ctx.params, "audience/count")


def members_statement(
    root: Condition,
    purpose: Purpose,
    *,
    columns: Sequence[str] = (),
    now: datetime | None = None,
    first_page: bool = False,
) -> Statement:
    """One keyset page: members with ``userId > $after`` in userId order, at most ``$limit``.

    ``first_page`` leaves the keyset filter out (``$after`` is then ignored): Neo4j can then sort the
    anchor's users by id and test the other conditions lazily until the page is full, where any
    keyset filter makes it rank every match first (2.9x slower for a tag AND a city at 1M users).
    """
    for column in columns:
        if column not in USER_FIELDS:
            raise AudienceError(f"column {column!r} is not one of {', '.join(USER_FIELDS)}")
    ctx, p = _start(root, now)
    extra = "".join(f", {ROOT}.{c} AS {c}" for c in columns)
    # Only a plain scan may seek the userId index from the cursor: anywhere else Neo4j would prefer
    # that ordered seek (it sees the LIMIT) over the anchor and walk every user, so the keyset
    # filter is written in a form no index can serve.
    keyset = f"{ROOT}.userId > $after" if p.ordered else f"coalesce({ROOT}.userId, '') > $after"
    text = p.render(_keep(purpose), [] if first_page else [keyset])
    return Statement(
        f"{text}\nRETURN {ROOT}.userId AS userId{extra} ORDER BY userId LIMIT $limit",
        ctx.params,
        "audience/members",
    )


def breakdown_statement(
    root: Condition, by: str, purpose: Purpose, *, now: datetime | None = None
) -> Statement:
    """Members per value of one allow-listed property, largest group first."""
    if by not in BREAKDOWN_FIELDS:
        raise AudienceError(f"cannot break down by {by!r}; expected one of {', '.join(BREAKDOWN_FIELDS)}")
    ctx, p = _start(root, now)
    text = (
        p.render(_keep(purpose))
        + f"\nRETURN {ROOT}.{by} AS value, count(*) AS users ORDER BY users DESC, value"
    )
    return Statement(text, ctx.params, "audience/breakdown")


def sample_statement(root: Condition, purpose: Purpose, *, now: datetime | None = None) -> Statement:
    """Up to ``$limit`` members drawn at random."""
    ctx, p = _start(root, now)
    text = p.render(_keep(purpose)) + f"\nRETURN {ROOT}.userId AS userId ORDER BY rand() LIMIT $limit"
    return Statement(text, ctx.params, "audience/sample")


def membership_statement(root: Condition, purpose: Purpose, *, now: datetime | None = None) -> Statement:
    """For each of ``$ids``: does the user meet the definition, and may the purpose use them."""
    ctx = Context(now or datetime.now(UTC))
    member = predicate(root, ROOT, ctx)
    allowed = CONSENT[purpose][0] or "true"
    text = (
        f"UNWIND $ids AS id\nMATCH ({ROOT}:User {{userId: id}})\n"
        f"RETURN {ROOT}.userId AS userId, coalesce({member}, false) AS member,\n"
        f"       coalesce({allowed}, false) AS allowed"
    )
    return Statement(text, ctx.params, "audience/membership")

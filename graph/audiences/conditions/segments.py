"""``lifecycle``, ``persona``, ``community``, ``influence``: the segments graph.analytics writes on each
User (lifecycle tier, persona, social community, influence rank and score), tested as User properties."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, all_of, user_property
from personagraph.graph.audiences.model import (
    CommunityNode,
    InfluenceCondition,
    LifecycleNode,
    PersonaNode,
    SetCondition,
)

SegmentNode = LifecycleNode | PersonaNode | CommunityNode


def in_segment(node: SegmentNode, var: str, ctx: Context) -> str:
    """The user's lifecycle tier, persona or social community is one of those listed."""
    listed: SetCondition
    if isinstance(node, LifecycleNode):
        prop, listed = "lifecycle", node.lifecycle
    elif isinstance(node, PersonaNode):
        prop, listed = "persona", node.persona
    else:
        prop, listed = "socialCommunity", node.community
    return f"{user_property(var, prop)} IN {ctx.param(listed.in_)}"


def influence(c: InfluenceCondition, var: str, ctx: Context) -> str:
    """Influence rank and/or score within the bounds given (inclusive)."""
    parts = [
        f"{user_property(var, prop)} {op} {ctx.param(bound)}"
        for prop, op, bound in (
            ("influenceRank", ">=", c.minRank),
            ("influenceRank", "<=", c.maxRank),
            ("influence", ">=", c.minScore),
            ("influence", "<=", c.maxScore),
        )
        if bound is not None
    ]
    return all_of(parts)

"""``friends`` and ``followers``: at least ``atLeast`` friends (or followers) who meet ``who`` (any
condition, e.g. "at least 2 friends who bought X"); anyone when ``who`` is left out."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, Predicate, at_least, where
from personagraph.graph.audiences.model import FollowersNode, FriendsNode


def has_ties(node: FriendsNode | FollowersNode, var: str, ctx: Context, predicate: Predicate) -> str:
    """``predicate`` compiles ``who`` for the friend or follower."""
    other = ctx.var("v")
    ties = node.friends if isinstance(node, FriendsNode) else node.followers
    step = "-[:FRIEND_OF]-" if isinstance(node, FriendsNode) else "<-[:FOLLOWS]-"
    who = predicate(ties.who, other, ctx) if ties.who else None
    return at_least(ties.atLeast, f"({var}){step}({other}:User){where(who)}", other, ctx)

"""``referralHops``: users within ``maxHops`` (1-3) REFERRED ties, either direction, of one user
(``userId``) or of anyone meeting ``of`` (any condition), themselves not included."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, Predicate, exists
from personagraph.graph.audiences.model import ReferralCondition

HOPS = {1: "*1..1", 2: "*1..2", 3: "*1..3"}


def within_hops(r: ReferralCondition, var: str, ctx: Context, predicate: Predicate) -> str:
    """``predicate`` compiles ``of`` for the user at the other end."""
    other = ctx.var("v")
    pattern = f"({var})-[:REFERRED{HOPS[r.maxHops]}]-({other}:User"
    if r.userId is not None:
        return exists(f"{pattern} {{userId: {ctx.param(r.userId)}}}) WHERE {other} <> {var}")
    assert r.of is not None
    return exists(f"{pattern}) WHERE {other} <> {var} AND {predicate(r.of, other, ctx)}")

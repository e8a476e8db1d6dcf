"""``acquiredVia``: users acquired through one channel."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, exists
from personagraph.graph.audiences.model import AcquiredViaCondition


def acquired_via(c: AcquiredViaCondition, var: str, ctx: Context) -> str:
    return exists(f"({var})-[:ACQUIRED_VIA]->(:Channel {{channelId: {ctx.param(c.channelId)}}})")

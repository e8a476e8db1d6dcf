"""``tag``: users holding a tag (not expired unless asked), optionally with a minimum weight."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, exists, where
from personagraph.graph.audiences.model import TagCondition


def has_tag(tag: TagCondition, var: str, ctx: Context) -> str:
    pattern, edge_filter = tag_match(tag, var, ctx)
    return exists(f"{pattern}{where(edge_filter)}")


def tag_match(tag: TagCondition, user: str, ctx: Context) -> tuple[str, str | None]:
    """The pattern from ``user`` (a variable, or ``u:User`` where a MATCH starts) to the tag, and the
    filter on its HAS_TAG edge (None: none)."""
    edge = ctx.var("h")
    edge_filter = _edge_filter(tag, edge, ctx)
    return f"({user})-[{edge}:HAS_TAG]->(:Tag {{tagId: {ctx.param(tag.tagId)}}})", edge_filter


def _edge_filter(tag: TagCondition, edge: str, ctx: Context) -> str | None:
    """Filter on a HAS_TAG edge: not expired (unless asked), at least the weight asked for."""
    parts = (
        []
        if tag.includeExpired
        else [f"({edge}.expiresAt IS NULL OR {edge}.expiresAt > {ctx.param(ctx.now)})"]
    )
    if tag.minWeight is not None:
        parts.append(f"{edge}.weight >= {ctx.param(tag.minWeight)}")
    return " AND ".join(parts) or None

"""``tag``: users holding a tag (not expired unless asked), optionally with a minimum weight."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, exists, where
from personagraph.graph.audiences.model import TagCondition


def has_tag(tag: TagCondition, var: str, ctx: Context) -> str:
    edge = ctx.var("h")
    edge_filter = tag_edge(tag, edge, ctx)
    tag_id = ctx.param(tag.tagId)
    return exists(f"({var})-[{edge}:HAS_TAG]->(:Tag {{tagId: {tag_id}}}){where(edge_filter)}")


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

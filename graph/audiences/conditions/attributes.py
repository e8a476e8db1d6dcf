"""``attribute``: one test (eq ne lt lte gt gte in between exists) on an allow-listed User property."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.context import Context, user_property
from personagraph.graph.audiences.model import AttributeCondition

COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def attribute(a: AttributeCondition, var: str, ctx: Context) -> str:
    prop = user_property(var, a.field)
    if a.op == "exists":
        return f"{prop} IS NOT NULL" if a.value else f"{prop} IS NULL"
    if a.op == "in":
        return f"{prop} IN {ctx.param(a.value)}"
    if a.op == "between":
        return f"({prop} >= {ctx.param(a.value[0])} AND {prop} <= {ctx.param(a.value[1])})"
    return f"{prop} {COMPARE[a.op]} {ctx.param(a.value)}"

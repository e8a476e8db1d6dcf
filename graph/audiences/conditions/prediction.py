"""``prediction``: one test (lt lte gt gte between exists) on a user's stored churnProbability or
expectedSpend."""

from __future__ import annotations

from personagraph.graph.audiences.conditions.attributes import COMPARE
from personagraph.graph.audiences.conditions.context import Context
from personagraph.graph.audiences.model import PREDICTION_FIELDS, PredictionCondition


def prediction(p: PredictionCondition, var: str, ctx: Context) -> str:
    """The stored prediction (graph.analytics.predictions) meets the test; a user never scored meets none
    but ``exists: false``."""
    if p.field not in PREDICTION_FIELDS:  # the model already refused it; this keeps the text closed anyway
        raise ValueError(f"not a prediction property: {p.field!r}")
    prop = f"{var}.{p.field}"
    if p.op == "exists":
        return f"{prop} IS NOT NULL" if p.value else f"{prop} IS NULL"
    if p.op == "between":
        return f"({prop} >= {ctx.param(p.value[0])} AND {prop} <= {ctx.param(p.value[1])})"
    return f"{prop} {COMPARE[p.op]} {ctx.param(p.value)}"

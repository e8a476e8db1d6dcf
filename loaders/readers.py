"""Stream rows out of input files with their 1-based line numbers; nothing here validates."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from graph.errors import PersonaGraphError


class UnusableInputError(PersonaGraphError):
    """The file as a whole cannot be read: unknown format, missing required columns."""


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) for each data row; the header is line 1."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise UnusableInputError(f"{path}: empty file, expected a header row")
        for row in reader:
            yield reader.line_num, {k.strip(): v for k, v in row.items() if k is not None}


def header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = next(csv.reader(handle), None)
    if first is None:
        raise UnusableInputError(f"{path}: empty file, expected a header row")
    return [name.strip() for name in first]

"""Stream rows out of CSV, JSONL or Parquet files with their line numbers; nothing here validates."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.errors import PersonaGraphError

FORMATS = (".csv", ".jsonl", ".parquet")
SURROGATE = re.compile("[\ud800-\udfff]")


class UnusableInputError(PersonaGraphError):
    """The file as a whole cannot be read: unknown format, missing required columns, bad encoding."""


@dataclass(frozen=True)
class RowSource:
    """One input file: its columns (known up front) and a stream of (line, row) pairs."""

    path: Path
    columns: list[str]

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            return _csv_rows(self.path)
        if suffix == ".jsonl":
            return _jsonl_rows(self.path)
        return _parquet_rows(self.path)


def open_source(path: Path) -> RowSource:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UnusableInputError(f"{path}: unknown format {suffix!r}; expected one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise UnusableInputError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            columns = _csv_header(path)
        elif suffix == ".jsonl":
            columns = _jsonl_header(path)
        else:
            import pyarrow.parquet as pq

            columns = list(pq.ParquetFile(path).schema_arrow.names)
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise UnusableInputError(f"{path}: cannot be read as {suffix[1:]}: {exc}") from exc
    return RowSource(path, columns)


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = next(csv.reader(handle), None)
    if not first:
        raise UnusableInputError(f"{path}: empty file, expected a header row")
    return [name.strip() for name in first]


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The header is line 1; a row's number is the line it ends on (quoted newlines count).

    A row the csv module cannot parse (a field over its size limit, a NUL byte) and a row holding bytes
    that are not UTF-8 come out malformed, with the reason, and reading goes on with the next line.
    """
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        reader = csv.reader(handle)
        names = [name.strip() for name in next(reader)]
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, {"__shape__": f"unreadable CSV: {exc}"}
                continue
            if not values:
                continue  # blank line
            row: dict[str, Any] = dict(zip(names, values, strict=False))
            if len(values) != len(names):
                row["__shape__"] = f"{len(values)} values for {len(names)} columns"
            # One search over the whole row: only undecodable bytes put a surrogate in CSV text.
            yield reader.line_num, _checked_text(row) if SURROGATE.search("".join(values)) else row


def _jsonl_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                first = json.loads(line)
                if not isinstance(first, dict):
                    raise UnusableInputError(f"{path}: line 1 is not a JSON object")
                return list(first)
    raise UnusableInputError(f"{path}: empty file")


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """A line that is not JSON, not an object, or holds text that is not UTF-8 comes out malformed."""
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                row = {"__shape__": f"not JSON: {exc.msg}"}
            yield number, _checked_text(row) if isinstance(row, dict) else {"__shape__": "not a JSON object"}


def _checked_text(row: dict[str, Any]) -> dict[str, Any]:
    """``row``, marked malformed when a value holds a lone surrogate: bytes that are not UTF-8 (read with
    surrogateescape) or a JSON ``\\ud800`` escape. Neo4j stores UTF-8 only, so such a value cannot load."""
    for column, value in row.items():
        if _has_surrogate(value):
            return {**row, "__shape__": f"{column}: not UTF-8 text (undecodable bytes or a lone surrogate)"}
    return row


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _parquet_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Parquet has no lines: a row's number is its 1-based position in the file."""
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield number, row

"""Whole files as frames of text columns with their line numbers, read as loaders/readers.py reads them.

A plain CSV file (UTF-8, no quotes, NUL bytes, lone carriage returns or lines longer than the csv
module's field limit) is split by polars into lines and fields; there a row's line is its physical line
and a row with the wrong number of values is malformed, with the same reason readers.py gives. Every
other file (quoted CSV, JSONL, Parquet, compressed or in another encoding) is read row by row by
readers.py and comes back as ``rows``: those rows are validated one by one (loaders/bulk/validate.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from personagraph.loaders.readers import open_source, split_name

LINE = "__line"  # the column holding each row's line number
PLAIN_FORBIDDEN = (b'"', b"\x00", b"\x01")  # \x01 splits lines below: no field holds it


@dataclass
class FileFrame:
    """One file: its columns, its rows of text (``frame``, every value a string, plus ``LINE``) when read
    whole, else its rows one by one (``rows``: (line, row) pairs as readers.py gives them); and the
    malformed rows (line, reason, row as read)."""

    path: Path
    columns: list[str]
    frame: pl.DataFrame | None = None
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    malformed: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    encoding: str | None = None

    @property
    def read(self) -> int:
        """Rows read, malformed ones included (blank lines are not rows)."""
        held = self.frame.height if self.frame is not None else len(self.rows)
        return held + len(self.malformed)


def read_file(path: Path, encoding: str | None = None) -> FileFrame:
    """``path`` as a frame when it is plain CSV, else row by row (see the module docstring)."""
    whole = read_plain_csv(path, encoding)
    if whole is not None:
        return whole
    source = open_source(path, encoding)  # the same checks and errors (missing file, bad header, ...)
    described = source.encoding.describe() if source.encoding else None
    found = FileFrame(path, source.columns, encoding=described)
    for line, raw in source.rows():
        if "__shape__" in raw:
            shape = raw.pop("__shape__")
            raw.pop("__line__", None)
            found.malformed.append((line, f"malformed row: {shape}", raw))
        else:
            found.rows.append((line, raw))
    return found


def read_plain_csv(path: Path, encoding: str | None = None) -> FileFrame | None:
    """``path`` as a frame when it is plain CSV (see the module docstring), else None."""
    if not _maybe_plain_csv(path, encoding):
        return None
    whole = _split_plain_csv(path)
    if whole is not None:
        whole.encoding = "utf-8 (utf-8)"
    return whole


def _maybe_plain_csv(path: Path, encoding: str | None) -> bool:
    _, suffix, compression = split_name(path)
    given = (encoding or "auto").lower().replace("_", "-")
    return suffix == ".csv" and not compression and given in {"auto", "utf-8", "utf8"} and path.is_file()


def _split_plain_csv(path: Path) -> FileFrame | None:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf") or any(mark in data for mark in PLAIN_FORBIDDEN):
        return None
    carriage_returns = b"\r" in data
    if carriage_returns and data.count(b"\r") != data.count(b"\r\n"):
        return None
    try:
        header = data.split(b"\n", 1)[0].decode("utf-8").removesuffix("\r")
        # One column per line (no field holds \x01): polars splits and decodes in parallel; a blank line is
        # a null row, so row index + 1 is the line number.
        lines = pl.read_csv(
            data, has_header=False, separator="\x01", quote_char=None, schema={"text": pl.String}
        )
    except (UnicodeDecodeError, pl.exceptions.PolarsError):
        return None  # not UTF-8 throughout: readers.py decides (detection, rejects per row)
    del data
    columns = [name.strip() for name in header.split(",")]
    if not header.strip() or len(set(columns)) != len(columns):
        return None
    lines = lines.with_row_index(LINE, offset=1).with_columns(
        pl.col(LINE).cast(pl.Int64),
        pl.col("text").str.strip_suffix("\r") if carriage_returns else pl.col("text"),
    )
    lines = lines.filter(pl.col(LINE) > 1, pl.col("text").is_not_null(), pl.col("text") != "")
    longest = lines.select(pl.col("text").str.len_bytes().max()).item() or 0
    if longest > csv.field_size_limit():
        return None  # a field may be over the csv module's limit: readers.py rejects that row with its reason
    expected = len(columns) - 1
    lines = lines.with_columns(pl.col("text").str.count_matches(",", literal=True).alias("__commas"))
    bad = lines.filter(pl.col("__commas") != expected)
    found = FileFrame(path, columns)
    for line, text, commas in bad.iter_rows():
        values = text.split(",")
        raw = dict(zip(columns, values, strict=False))
        found.malformed.append((line, f"malformed row: {commas + 1} values for {len(columns)} columns", raw))
    good = lines.filter(pl.col("__commas") == expected)
    names = [f"field_{i}" for i in range(len(columns))]
    frame = good.select(
        pl.col(LINE), pl.col("text").str.split_exact(",", expected).struct.rename_fields(names).alias("s")
    ).unnest("s")
    found.frame = frame.rename(dict(zip(names, columns, strict=True)))
    return found


def frame_rows(frame: pl.DataFrame) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row) pairs of a frame's rows, as readers.py would give them."""
    for row in frame.iter_rows(named=True):
        line = row.pop(LINE)
        yield line, row

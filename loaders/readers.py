"""Stream rows out of CSV, JSONL or Parquet files with their line numbers; nothing here validates."""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import itertools
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from personagraph.graph.errors import PersonaGraphError

log = logging.getLogger(__name__)

FORMATS = (".csv", ".jsonl", ".parquet")
COMPRESSIONS = (".gz", ".bz2", ".zip")  # a compressed file is read as the format before this suffix
SURROGATE = re.compile("[\ud800-\udfff]")
# Detections of the GBK family (GB2312 < GBK < GB18030) are read as GB18030, their superset: a file
# called GBK or GB2312 by detection often holds a few characters only GB18030 (or Windows' cp936) maps.
GBK_FAMILY = frozenset({"gb2312", "gbk", "cp936", "ms936", "gb18030", "hz", "euc_cn", "euccn"})
DETECT_SAMPLE = 1 << 20  # bytes of lines that are not UTF-8 given to detection
# Fewer bytes than this that are neither ASCII nor UTF-8 are too few to tell an encoding from damage (a
# few stray bytes fit some code page): the file stays UTF-8 and those rows are rejected, with a warning.
DETECT_MIN_BYTES = 16
# UTF-32 before UTF-16: a UTF-32-LE mark begins with UTF-16-LE's.
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def split_name(path: Path) -> tuple[str, str, str]:
    """``(base, format, compression)`` of a file name: ``orders_2024.csv.gz`` -> ``("orders_2024",
    ".csv", ".gz")``; ``users.csv`` -> ``("users", ".csv", "")``; format ``""`` when it is none we read."""
    name = path.name
    compression = next((c for c in COMPRESSIONS if name.lower().endswith(c)), "")
    if compression:
        name = name[: -len(compression)]
    suffix = Path(name).suffix
    if suffix.lower() in FORMATS:
        return name[: -len(suffix)], suffix.lower(), compression
    return name, "", compression


def open_binary(path: Path) -> IO[bytes]:
    """``path``'s bytes, decompressed for .gz, .bz2 and .zip (a zip holding exactly one file)."""
    compression = split_name(path)[2]
    if compression == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if compression == ".bz2":
        return bz2.open(path, "rb")
    if compression == ".zip":
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            archive.close()
            raise UnusableInputError(f"{path}: a zip file must hold one file, it holds {len(members)}")
        return archive.open(members[0])
    return path.open("rb")


def _open_text(path: Path, encoding: str, errors: str = "strict") -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors=errors, newline="")


@dataclass(frozen=True)
class Encoding:
    """How a text file is decoded: ``name`` (a Python codec), and how it was chosen: ``given`` (--encoding),
    ``utf-8`` (every byte of the file is UTF-8) or ``detected`` (charset-normalizer said ``detected_as``)."""

    name: str
    how: str
    detected_as: str | None = None

    def describe(self) -> str:
        if self.how == "detected" and self.detected_as and self.detected_as != self.name:
            return f"{self.name} (detected {self.detected_as})"
        return f"{self.name} ({self.how})"


def choose_encoding(path: Path, given: str | None = None) -> Encoding:
    """The encoding to read ``path`` with: ``given`` unless None or "auto"; else the one its byte-order mark
    names; else UTF-8 when the non-ASCII lines are mostly UTF-8, or the other bytes too few to go on (the
    lines that are not UTF-8 are rejected row by row); else what charset-normalizer detects in the lines
    that are not UTF-8 (a GBK-family detection: GB18030; equally good candidates: the GBK family first).

    Every line is checked (streaming), so a file whose bytes that are not UTF-8 come late is still read in
    its encoding, every row of it, rather than losing those rows. Nothing detected: UTF-8.
    """
    if given and given.lower() != "auto":
        try:
            name = codecs_lookup(given)
        except LookupError as exc:
            raise UnusableInputError(f"{path}: unknown encoding {given!r}") from exc
        return Encoding(name, "given")
    sample = bytearray()
    good = bad = strange = 0
    with open_binary(path) as handle:
        head = handle.read(4)
        for bom, name in BOMS:
            if head.startswith(bom):
                return Encoding(name, "byte-order mark")
        for line in itertools.chain([head + handle.readline()], handle):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                good += 1
            except UnicodeDecodeError:
                bad += 1
                strange += sum(byte > 127 for byte in line)
                if len(sample) < DETECT_SAMPLE:
                    sample += line
    if bad == 0 or good >= bad:
        return Encoding("utf-8", "utf-8")
    if strange < DETECT_MIN_BYTES:
        log.warning(
            "%s: %d line(s) hold bytes that are not UTF-8, too few to detect an encoding from: they are "
            "rejected (give --encoding if the file is not UTF-8)",
            path.name,
            bad,
        )
        return Encoding("utf-8", "too few other bytes to detect")
    from charset_normalizer import from_bytes

    matches = from_bytes(bytes(sample))
    best = matches.best()
    if best is not None:  # a short sample fits several codecs equally: ties go to the GBK family
        tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence]
        best = next((m for m in tied if m.encoding.lower() in GBK_FAMILY), best)
    if best is None:
        log.warning("%s: not UTF-8 and no encoding detected: rows that are not UTF-8 are rejected", path.name)
        return Encoding("utf-8", "nothing else detected")
    detected = codecs_lookup(best.encoding)
    name = "gb18030" if detected in GBK_FAMILY or best.encoding.lower() in GBK_FAMILY else detected
    return Encoding(name, "detected", best.encoding)


def codecs_lookup(name: str) -> str:
    """Python's canonical name of an encoding (``GBK`` -> ``gbk``, ``utf8`` -> ``utf-8``)."""
    return codecs.lookup(name).name


class UnusableInputError(PersonaGraphError):
    """The file as a whole cannot be read: unknown format, missing required columns, bad encoding."""


@dataclass(frozen=True)
class RowSource:
    """One input file: its columns (known up front) and a stream of (line, row) pairs."""

    path: Path
    columns: list[str]
    encoding: Encoding | None = None  # None for Parquet (binary)

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        suffix = split_name(self.path)[1]
        if suffix == ".csv":
            return _csv_rows(self.path, self._codec("utf-8-sig"))
        if suffix == ".jsonl":
            return _jsonl_rows(self.path, self._codec("utf-8-sig"))
        return _parquet_rows(self.path)

    def _codec(self, utf8: str) -> str:
        """The codec to read with; UTF-8 as ``utf8`` (``utf-8-sig`` for CSV: a BOM is dropped)."""
        name = self.encoding.name if self.encoding else "utf-8"
        return utf8 if name == "utf-8" else name


def open_source(path: Path, encoding: str | None = None) -> RowSource:
    """``path`` ready to stream; text is decoded with ``encoding`` or, when None or "auto", a detected one
    (``choose_encoding``)."""
    suffix = split_name(path)[1]
    if not suffix:
        raise UnusableInputError(
            f"{path}: unknown format {path.suffix!r}; expected one of {', '.join(FORMATS)}"
            f" (optionally {', '.join(COMPRESSIONS)})"
        )
    if not path.is_file():
        raise UnusableInputError(f"{path}: no such file")
    chosen: Encoding | None = None
    try:
        if suffix == ".parquet":
            columns = list(_parquet_file(path).schema_arrow.names)
        else:
            chosen = choose_encoding(path, encoding)
            source = RowSource(path, [], chosen)
            if suffix == ".csv":
                columns = _csv_header(path, source._codec("utf-8-sig"))
            else:
                columns = _jsonl_header(path, source._codec("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        how = f" ({chosen.describe()})" if chosen else ""
        raise UnusableInputError(f"{path}: cannot be read as {suffix[1:]}{how}: {exc}") from exc
    return RowSource(path, columns, chosen)


def _csv_header(path: Path, encoding: str) -> list[str]:
    # surrogateescape: bytes a row further on may not decode (that row is rejected); the header must
    with _open_text(path, encoding, "surrogateescape") as handle:
        first = next(csv.reader(handle), None)
    if not first:
        raise UnusableInputError(f"{path}: empty file, expected a header row")
    if SURROGATE.search("".join(first)):
        raise UnusableInputError(f"{path}: the header row is not {encoding} text (--encoding)")
    return [name.strip() for name in first]


def _csv_rows(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The header is line 1; a row's number is the line it ends on (quoted newlines count).

    A row the csv module cannot parse (a field over its size limit, a NUL byte) and a row holding bytes
    that are not UTF-8 come out malformed, with the reason, and reading goes on with the next line.
    """
    with _open_text(path, encoding, "surrogateescape") as handle:
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


def _jsonl_header(path: Path, encoding: str) -> list[str]:
    with _open_text(path, encoding, "surrogateescape") as handle:
        for line in handle:
            if line.strip():
                if SURROGATE.search(line):
                    raise UnusableInputError(f"{path}: line 1 is not {encoding} text (--encoding)")
                first = json.loads(line)
                if not isinstance(first, dict):
                    raise UnusableInputError(f"{path}: line 1 is not a JSON object")
                return list(first)
    raise UnusableInputError(f"{path}: empty file")


def _jsonl_rows(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """A line that is not JSON, not an object, or holds text that is not UTF-8 comes out malformed, with the
    whole message (``Expecting ',' delimiter: line 1 column 31 (char 30)``) and the line as read in
    ``__line__`` (the rejects file keeps it: there is no row to keep)."""
    with _open_text(path, encoding, "surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__shape__": f"not JSON: {exc}", "__line__": line.rstrip("\r\n")}
                continue
            if not isinstance(row, dict):
                yield number, {"__shape__": "not a JSON object", "__line__": line.rstrip("\r\n")}
                continue
            yield number, _checked_text(row)


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
    number = 0
    for batch in _parquet_file(path).iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield number, row


def _parquet_file(path: Path) -> Any:
    import pyarrow.parquet as pq

    if not split_name(path)[2]:
        return pq.ParquetFile(path)
    with open_binary(path) as handle:  # Parquet needs to seek: a compressed one is read into memory
        return pq.ParquetFile(io.BytesIO(handle.read()))

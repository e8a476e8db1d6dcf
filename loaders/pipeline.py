"""Read, validate, check references, transform and write files in batches; bad rows go to rejects."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from personagraph.graph.entities import KINDS, EntityKind, Row
from personagraph.graph.ids import existing_ids
from personagraph.graph.privacy.forget import REFUSED, SuppressionList, load_suppression_list, words_of
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore, WriteCounts
from personagraph.loaders.readers import (
    COMPRESSIONS,
    FORMATS,
    RowSource,
    UnusableInputError,
    open_source,
    split_name,
)
from personagraph.loaders.rejects import RejectsFile, default_rejects_dir, rejects_file_name

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


# Per kind a row can name (entities.Reference.target): the statement that creates placeholders for the
# keys that name nothing (--create-missing; graph/ids.py finds which). Catalog names, never built.
PLACEHOLDER = {
    "users": "profiles/write/placeholder_users",
    "products": "products/write/placeholder_products",
    "channels": "channels/write/placeholder_channels",
    "tags": "tags/write/placeholder_tags",
}


@dataclass(frozen=True)
class LoadOptions:
    batch_size: int = 1000
    # Reject files are created 0600 and a folder the loader creates 0700: they copy rows of personal data.
    rejects_dir: Path = field(default_factory=default_rejects_dir)
    create_missing: bool = False  # referenced users/products/channels/tags become placeholders
    # Text encoding of CSV/JSONL files: None (or "auto") detects it per file (readers.choose_encoding).
    encoding: str | None = None
    context: RowContext = field(default_factory=RowContext)
    # Keys the suppression list of forgotten users (graph.privacy.forget.suppression_key(settings));
    # rows naming a forgotten user are rejected. None is refused once the graph holds a suppression list.
    suppression_key: bytes | None = field(default=None, repr=False)


@dataclass
class FileReport:
    path: Path
    kind: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    placeholders: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    seconds: float = 0.0
    rejects_file: Path | None = None
    encoding: str | None = None  # how text was decoded, e.g. "gb18030 (detected GB2312)"; None for Parquet

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON reports."""
        return {
            "file": self.path.name,
            "kind": self.kind,
            "read": self.read,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "placeholders": self.placeholders,
            "nodes_created": self.counts.nodes_created,
            "relationships_created": self.counts.relationships_created,
            "properties_set": self.counts.properties_set,
            "seconds": round(self.seconds, 3),
            "rejects_file": str(self.rejects_file) if self.rejects_file else None,
            "encoding": self.encoding,
        }


@dataclass(frozen=True)
class Pending:
    line: int
    statement: str
    row: Row
    raw: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A file of a dataset folder that is not loaded, and why."""

    path: Path
    reason: str


def file_context(options: LoadOptions, path: Path, kind: EntityKind) -> RowContext:
    """The row context of one file: its consent statements are recorded as coming from it, at the row's
    consent time or now (unless the caller fixes it); the identity key is resolved once per file
    (ConfigurationError for an empty PERSONA_IDENTITY_SALT)."""
    given = options.context
    return given.model_copy(
        update={
            "consent_source": f"load:{path.name}",
            "consent_at": given.consent_at or datetime.now(UTC),
            "consent_from_file": True,
            "identity_salt": given.identity_key() if kind.name == "identities" else given.identity_salt,
        }
    )


def check_columns(path: Path, kind: EntityKind, columns: list[str]) -> None:
    """UnusableInputError when the file lacks a column its kind requires."""
    missing = [c for c in kind.required_columns if c not in columns]
    if missing:
        raise UnusableInputError(
            f"{path}: missing required column(s) {', '.join(missing)}; "
            f"{kind.name} files need {', '.join(kind.required_columns)}"
        )


def row_digest(raw: dict[str, Any]) -> bytes:
    """What tells a row from an exact copy of it (the later copies are dropped and counted)."""
    return hashlib.blake2b(json.dumps(raw, sort_keys=True, default=str).encode(), digest_size=8).digest()


def model_problem(exc: ValidationError) -> tuple[str, str]:
    """The column a record model refused (``row`` for the row as a whole) and why: a reject's column and
    reason."""
    error = exc.errors()[0]
    return ".".join(str(p) for p in error["loc"]) or "row", error["msg"]


def kind_from_name(path: Path) -> EntityKind | None:
    """The kind a file name gives: ``<kind>`` then nothing, or a character that is not a letter
    (``users.csv``, ``users_2024.csv``, ``users-eu.jsonl.gz``, ``orders2.csv``); the longest kind name wins
    (``user_tags_1.csv`` is user_tags). None when the name starts with no kind."""
    base = split_name(path)[0].lower()
    for name in sorted(KINDS, key=len, reverse=True):
        if base.startswith(name) and (len(base) == len(name) or not base[len(name)].isalpha()):
            return KINDS[name]
    return None


def scan_folder(folder: Path) -> tuple[list[tuple[EntityKind, Path]], list[Skipped]]:
    """The dataset's files in dependency order (by name within a kind), and every other file with the
    reason it is not loaded. A file is loaded when its name is ``<kind>[suffix].<csv|jsonl|parquet>``,
    optionally compressed (``.gz``, ``.bz2``, ``.zip``)."""
    if not folder.is_dir():
        raise UnusableInputError(f"{folder}: not a folder")
    by_kind: dict[str, list[Path]] = defaultdict(list)
    skipped: list[Skipped] = []
    formats = f"{', '.join(FORMATS)} (optionally {', '.join(COMPRESSIONS)})"
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue  # hidden files (.DS_Store, editors' swap files) are not data
        if not path.is_file():
            skipped.append(Skipped(path, "not a file"))
            continue
        kind = kind_from_name(path)
        if not split_name(path)[1]:
            skipped.append(Skipped(path, f"unknown format: expected {formats}"))
        elif kind is None:
            skipped.append(Skipped(path, f"no kind in its name: expected one of {', '.join(KINDS)} first"))
        else:
            by_kind[kind.name].append(path)
    found = [(kind, path) for kind in KINDS.values() for path in by_kind.get(kind.name, [])]
    if not found:
        expected = ", ".join(f"{k}.csv" for k in KINDS)
        raise UnusableInputError(
            f"{folder}: no input files; expected some of {expected} (or .jsonl/.parquet, optionally .gz)"
        )
    return found, skipped


def find_files(folder: Path) -> list[tuple[EntityKind, Path]]:
    """The dataset's files in dependency order (``scan_folder`` without the skipped files)."""
    return scan_folder(folder)[0]


def kind_of(path: Path, kind_name: str | None = None) -> EntityKind:
    kind = KINDS.get(kind_name) if kind_name else kind_from_name(path)
    if kind is None:
        name = kind_name or split_name(path)[0]
        raise UnusableInputError(
            f"{path}: unknown kind {name!r}; expected one of {', '.join(KINDS)} (--kind)"
        )
    return kind


class FileLoader:
    """Loads one file: streaming, batch by batch, with a reject file written as it goes."""

    def __init__(
        self,
        store: GraphStore,
        kind: EntityKind,
        path: Path,
        options: LoadOptions,
        suppression: SuppressionList | None = None,
        rejects_name: str | None = None,
    ) -> None:
        self.store, self.kind, self.options = store, kind, options
        self.source = open_source(path, options.encoding)
        check_columns(path, kind, self.source.columns)
        self.report = FileReport(path, kind.name)
        # <rejects_dir>/<file name without format and compression>.jsonl unless the caller names it
        rejects_path = options.rejects_dir / (rejects_name or rejects_file_name(path))
        self._rejects = RejectsFile(rejects_path, path.name)  # validation and the writer thread both reject
        if self.source.encoding is not None:
            self.report.encoding = self.source.encoding.describe()
            log.debug("%s: read as %s", path.name, self.report.encoding)  # the CLI prints non-UTF-8 ones
        if suppression is None:
            suppression = load_suppression_list(store, options.suppression_key)
        self.suppression = suppression
        self._user_fields = kind.user_fields
        self._user_columns = tuple(dict.fromkeys(ref.column for ref in kind.user_fields))
        self.context = file_context(options, path, kind)
        self._seen: set[bytes] = set()
        self._told = 0  # rows read that ``progress`` has been told of

    def run(self, progress: Progress | None = None) -> FileReport:
        started = time.perf_counter()
        # One writer thread: the next batch is parsed and validated while Neo4j writes this one.
        # Batches still reach Neo4j one at a time and in file order.
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{self.kind.name}")
        in_flight: Future[None] | None = None
        try:
            batch: list[Pending] = []
            for pending in self._validated(self.source):
                batch.append(pending)
                if len(batch) >= self.options.batch_size:
                    if in_flight is not None:
                        in_flight.result()
                    in_flight = writer.submit(self._write, batch, progress)
                    batch = []
            if in_flight is not None:
                in_flight.result()
            self._write(batch, progress)
            self._tell(progress)  # rows read after the last batch written (rejected or duplicates)
        finally:
            writer.shutdown(wait=True, cancel_futures=True)
            self._rejects.close()
            self.report.rejected = self._rejects.count
            if self._rejects.count:
                self.report.rejects_file = self._rejects.path
        self.report.seconds = time.perf_counter() - started
        if self.report.rejected:  # callers report rejects (the CLI lists each file once): debug here
            log.debug(
                "%s: %d rows rejected, see %s",
                self.source.path.name,
                self.report.rejected,
                self.report.rejects_file,
            )
        return self.report

    def _validated(self, source: RowSource) -> Iterator[Pending]:
        for line, raw in source.rows():
            self.report.read += 1
            digest = row_digest(raw)
            if digest in self._seen:
                self.report.duplicates += 1  # an exact copy of an earlier row: dropped, counted
                continue
            self._seen.add(digest)
            if self.suppression and self._refuse_forgotten_raw(line, raw):
                continue  # before validation: a forgotten user's invalid row is not copied out either
            if "__shape__" in raw:
                line_text = raw.pop("__line__", None)  # JSONL: the line as read, there being no row
                self._rejects.add(line, "row", None, f"malformed row: {raw['__shape__']}", raw, line_text)
                continue
            try:
                record = self.kind.model.model_validate(raw)
            except ValidationError as exc:
                name, reason = model_problem(exc)
                self._rejects.add(line, name, raw.get(name), reason, raw)
                continue
            statement, row = self.kind.statement_for(record), record.to_row(self.context)
            if self.suppression and self._refuse_forgotten(line, statement, row):
                continue
            yield Pending(line, statement, row, raw)

    def _refuse_forgotten_raw(self, line: int, raw: dict[str, Any]) -> bool:
        """Reject a row whose user columns, as read, name a user who asked to be forgotten, or a search whose
        text names one: the rejects file gets the line, column and reason, never the id or the row. A JSONL
        line that is not a JSON object is refused when any word of it names one."""
        line_text = raw.get("__line__")
        if isinstance(line_text, str) and any(word in self.suppression for word in _line_words(line_text)):
            self._rejects.add(line, "row", None, REFUSED, None)
            return True
        for column in self._user_columns:
            value = raw.get(column)
            if value is not None and str(value).strip() in self.suppression:
                self._rejects.add(line, column, None, REFUSED, None)
                return True
        if self.kind.name == "events" and str(raw.get("kind") or "").strip().lower() == "search":
            target = raw.get("target")
            if isinstance(target, str) and any(word in self.suppression for word in words_of(target)):
                self._rejects.add(line, "target", None, REFUSED, None)
                return True
        return False

    def _refuse_forgotten(self, line: int, statement: str, row: Row) -> bool:
        """Reject a row naming a user who asked to be forgotten (as validated); none of it is copied out."""
        for ref in self._user_fields:
            user_id = ref.key(statement, row)
            if user_id is not None and user_id in self.suppression:
                self._rejects.add(line, ref.column, None, REFUSED, None)
                return True
        return False

    def _write(self, batch: list[Pending], progress: Progress | None) -> None:
        if not batch:
            return
        good = self._check_references(batch)
        by_statement: dict[str, list[Row]] = defaultdict(list)
        for pending in good:
            by_statement[pending.statement].append(pending.row)
        for statement, rows in by_statement.items():
            if self.kind.fold is not None:
                rows = self.kind.fold(rows)
            for call in self.kind.rounds(rows):
                self.report.counts = self.report.counts + self.store.write_rows(statement, call)
        self.report.loaded += len(good)
        self._tell(progress)

    def _tell(self, progress: Progress | None) -> None:
        """Advance ``progress`` by the rows read since it was last told: rows read as the report counts them
        (rejected and duplicate rows included), so a progress line and the report agree on "read"."""
        read = self.report.read
        if progress is not None and read > self._told:
            progress(read - self._told)
            self._told = read

    def _check_references(self, batch: list[Pending]) -> list[Pending]:
        """Reject (or, with create_missing, create) what the batch names but the graph lacks."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for pending in batch:
            for ref in self.kind.references:
                key = ref.key(pending.statement, pending.row)
                if key is not None:
                    wanted[ref.target].add(key)
        missing: dict[str, set[str]] = {}
        for target, keys in wanted.items():
            found = existing_ids(self.store, target, keys)
            missing[target] = keys - found
            if missing[target] and self.options.create_missing:
                self.store.write(PLACEHOLDER[target], keys=sorted(missing[target]))
                self.report.placeholders += len(missing[target])
                missing[target] = set()
        good = []
        for pending in batch:
            problem = next(
                (
                    ref
                    for ref in self.kind.references
                    if ref.key(pending.statement, pending.row) in missing.get(ref.target, ())
                ),
                None,
            )
            if problem is None:
                good.append(pending)
            else:
                value = problem.key(pending.statement, pending.row)
                self._rejects.add(
                    pending.line,
                    problem.column,
                    value,
                    f"unknown {problem.column} {value!r}: no such {problem.target[:-1]}",
                    pending.raw,
                )
        return good


def _line_words(text: str) -> set[str]:
    """The words of a raw line that could be an id: runs between JSON punctuation and spaces, and their
    ``words_of`` parts."""
    found: set[str] = set()
    for word in re.split(r'[\s"{}\[\],:]+', text):
        if word:
            found |= {word} | words_of(word)
    return found


def load_file(
    store: GraphStore,
    path: Path,
    *,
    kind: str | None = None,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
) -> FileReport:
    """Load one file (incremental loads); its kind comes from its name unless given."""
    return FileLoader(store, kind_of(path, kind), path, options or LoadOptions()).run(progress)


def load_dataset(
    store: GraphStore,
    folder: Path,
    *,
    options: LoadOptions | None = None,
    progress: Callable[[Path], Progress] | None = None,
) -> list[FileReport]:
    """Load every known file of ``folder`` in dependency order; unusable files stop the load first."""
    options = options or LoadOptions()
    files, skipped = scan_folder(folder)
    for skip in skipped:  # the CLI shows these log lines: no file is left out silently
        log.warning("%s: not loaded: %s", skip.path.name, skip.reason)
    suppression = load_suppression_list(store, options.suppression_key)  # once: forget is rare, loads long
    # One rejects file per input file: users.csv and users.jsonl get users.csv.jsonl and users.jsonl.jsonl
    stems = [split_name(path)[0] for _, path in files]
    loaders = [
        FileLoader(
            store, kind, path, options, suppression, rejects_file_name(path, whole_name=stems.count(stem) > 1)
        )
        for (kind, path), stem in zip(files, stems, strict=True)
    ]
    return [loader.run(progress(loader.source.path) if progress else None) for loader in loaders]

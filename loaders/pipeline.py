"""Read, validate, check references, transform and write files in batches; bad rows go to rejects."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from personagraph.graph.activation.keys_store import advertising_users
from personagraph.graph.activation.match_keys import match_keys
from personagraph.graph.entities import KINDS, EntityKind, Row
from personagraph.graph.ids import existing_ids
from personagraph.graph.privacy.forget import REFUSED, SuppressionList, load_suppression_list
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore, WriteCounts
from personagraph.loaders.bulk.frames import read_plain_csv
from personagraph.loaders.bulk.references import check_references, referenced_keys
from personagraph.loaders.bulk.unchanged import changed_parts
from personagraph.loaders.bulk.validate import Validated, statement_rows, validate
from personagraph.loaders.readers import (
    COMPRESSIONS,
    FORMATS,
    RowSource,
    UnusableInputError,
    open_source,
    split_name,
)
from personagraph.loaders.rejects import RejectsFile, default_rejects_dir, rejects_file_name
from personagraph.loaders.rows import (
    forgotten_in_raw,
    forgotten_in_row,
    model_problem,
    reference_value,
    row_digest,
    unknown_reference,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tally:
    """Where a file's load stands: rows read (as the report counts them: rejected and duplicate rows
    included) and rejected so far, and the rows the file holds when that is known (a plain CSV file is
    read whole first), for an ETA."""

    read: int
    rejected: int
    total: int | None = None


Progress = Callable[[Tally], None]

# A plain CSV file up to this size is read and validated whole, as columns (loaders/bulk/validate.py);
# a larger one, or any other file, streams row by row (bounded memory).
WHOLE_FILE_BYTES = 2 << 30


# Per kind a row can name (entities.Reference.target): the statement that creates placeholders for the
# keys that name nothing (--create-missing; graph/ids.py finds which). Catalog names, never built. A survey
# question or answer has none (entities.Reference.placeholder): a row naming one that is not there is
# rejected.
PLACEHOLDER = {
    "users": "profiles/write/placeholder_users",
    "products": "products/write/placeholder_products",
    "channels": "channels/write/placeholder_channels",
    "tags": "tags/write/placeholder_tags",
}


PLACEHOLDER_CHUNK = 10_000  # placeholders made per statement


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
    # A file read whole leaves out rows that would change nothing (loaders/bulk/unchanged.py); True writes
    # every row again (a comparison with other tools, or a graph whose state is in doubt).
    write_unchanged: bool = False


@dataclass
class FileReport:
    path: Path
    kind: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    placeholders: int = 0
    unchanged: int = 0  # of ``loaded``: rows the graph held as they are, not written again
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
            "unchanged": self.unchanged,
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
    raw: dict[str, Any] | None  # the row as read, for a reject of its references


@dataclass(frozen=True)
class Batch:
    """Rows to write in one go, the file's rows read once they are (for progress), and whether their
    references were checked already (a file read whole is checked at once)."""

    rows: list[Pending]
    read: int
    checked: bool = False


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
            # the ad-platform match keys of each raw identity (kept only for users with advertising consent)
            "match_keys": match_keys if kind.name == "identities" else given.match_keys,
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
        self.context = file_context(options, path, kind)
        if self.context.match_keys is not None:  # identities: keys for the users with advertising consent
            self.context = self.context.model_copy(update={"advertising_users": advertising_users(store)})
        self._seen: set[bytes] = set()
        self._told = 0  # rows read that ``progress`` has been told of
        self._total: int | None = None  # rows the file holds, once known

    def run(self, progress: Progress | None = None) -> FileReport:
        started = time.perf_counter()
        # One writer thread: the next batch is read and validated while Neo4j writes this one.
        # Batches still reach Neo4j one at a time and in file order.
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"write-{self.kind.name}")
        in_flight: Future[None] | None = None
        try:
            for batch in self._batches():
                if in_flight is not None:
                    in_flight.result()
                in_flight = writer.submit(self._write, batch, progress)
            if in_flight is not None:
                in_flight.result()
            self._tell(progress, self.report.read)  # rows read after the last batch (rejects, duplicates)
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

    def _batches(self) -> Iterator[Batch]:
        """The file's good rows in batches, in file order: a plain CSV file (up to WHOLE_FILE_BYTES) read,
        validated and checked against the graph whole, as columns; any other file row by row."""
        path = self.source.path
        whole = None
        if path.stat().st_size <= WHOLE_FILE_BYTES:  # open_source checked it is a file
            whole = read_plain_csv(path, self.options.encoding)
        if whole is None:
            yield from self._streamed()
            return
        validated = validate(whole, self.kind, self.context, self.suppression)
        rows = self._checked(validated)
        for reject in sorted(validated.rejects, key=lambda r: r.line):
            self._rejects.add(reject.line, reject.column, reject.value, reject.reason, reject.raw)
        self.report.read, self.report.duplicates = validated.read, validated.duplicates
        self._total = validated.read
        # Parts of the rows, each without what the graph holds as it is (unless every row is to be written):
        # a part's state is read while the writer thread writes the part before. Progress: the share of the
        # rows handled.
        if self.options.write_unchanged:
            parts: Iterable[tuple[pl.DataFrame, int]] = [(rows, rows.height)]
        else:
            parts = changed_parts(self.store, self.kind, rows)
        handled = 0
        for part, held in parts:
            self.report.unchanged += held - part.height
            self.report.loaded += held - part.height
            offset = 0
            for piece in part.iter_slices(self.options.batch_size):
                offset += piece.height
                done = handled + (held * offset // part.height)
                yield Batch(self._pending(piece), validated.read * done // rows.height, checked=True)
            handled += held

    def _pending(self, rows: pl.DataFrame) -> list[Pending]:
        return [
            Pending(line, statement, row, None)
            for line, statement, row in statement_rows(self.kind, rows, self.context)
        ]

    def _checked(self, validated: Validated) -> pl.DataFrame:
        """``validated``'s rows whose references name nodes of the graph (references.check_references
        against the keys found there); with create_missing, the others' keys made placeholders first."""
        known = {
            target: existing_ids(self.store, target, keys)
            for target, keys in referenced_keys(self.kind, validated.rows).items()
        }
        rows, made = check_references(self.kind, validated, known, create_missing=self.options.create_missing)
        for target, keys in made.items():
            self._make_placeholders(target, keys)
        return rows

    def _make_placeholders(self, target: str, keys: Iterable[str]) -> None:
        """Placeholder nodes of ``target`` for ``keys`` (--create-missing), PLACEHOLDER_CHUNK a statement."""
        ordered = sorted(keys)
        for start in range(0, len(ordered), PLACEHOLDER_CHUNK):
            self.store.write(PLACEHOLDER[target], keys=ordered[start : start + PLACEHOLDER_CHUNK])
        self.report.placeholders += len(ordered)

    def _streamed(self) -> Iterator[Batch]:
        batch: list[Pending] = []
        for pending in self._validated(self.source):
            batch.append(pending)
            if len(batch) >= self.options.batch_size:
                yield Batch(batch, self.report.read)
                batch = []
        if batch:
            yield Batch(batch, self.report.read)

    def _validated(self, source: RowSource) -> Iterator[Pending]:
        for line, raw in source.rows():
            self.report.read += 1
            digest = row_digest(raw)
            if digest in self._seen:
                self.report.duplicates += 1  # an exact copy of an earlier row: dropped, counted
                continue
            self._seen.add(digest)
            if self.suppression and (column := forgotten_in_raw(self.kind, raw, self.suppression)):
                self._rejects.add(line, column, None, REFUSED, None)  # nothing of the row is copied out
                continue
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
            if self.suppression and (column := forgotten_in_row(self.kind, statement, row, self.suppression)):
                self._rejects.add(line, column, None, REFUSED, None)
                continue
            yield Pending(line, statement, row, raw)

    def _write(self, batch: Batch, progress: Progress | None) -> None:
        good = batch.rows if batch.checked else self._check_references(batch.rows)
        by_statement: dict[str, list[Row]] = defaultdict(list)
        for pending in good:
            by_statement[pending.statement].append(pending.row)
        for statement, rows in by_statement.items():
            if self.kind.fold is not None:
                rows = self.kind.fold(rows)
            for call in self.kind.rounds(rows):
                self.report.counts = self.report.counts + self.store.write_rows(statement, call)
        self.report.loaded += len(good)
        self._tell(progress, batch.read)

    def _tell(self, progress: Progress | None, read: int) -> None:
        """Tell ``progress`` where the file stands, once ``read`` rows of it are read (and written)."""
        if progress is not None and read > self._told:
            progress(Tally(read, self._rejects.count, self._total))
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
            if missing[target] and self.options.create_missing and target in PLACEHOLDER:
                self._make_placeholders(target, missing[target])
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
                reason = unknown_reference(problem.column, value, problem.target)
                shown = reference_value(problem.target, value)
                self._rejects.add(pending.line, problem.column, shown, reason, pending.raw)
        return good


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

"""An initial load: a dataset folder into an empty local Neo4j through its offline importer.

The files are read, validated, checked and rejected exactly as ``load_dataset`` does (the same rejects
files, with line and reason, and the same report per file); the graph the merge statements would build
is computed whole (loaders/bulk/tables.py), written as the importer's CSV files and imported by
``neo4j-admin database import full`` with Neo4j stopped. Then the schema is applied and the user rows
that repeat an earlier id are replayed through the transactional statement. The graph is the one
``load_dataset`` builds from the same files (tests/test_bulk_load.py compares fingerprints).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from personagraph.graph.profiles.read import USER_PROPERTIES
from personagraph.graph.records import epoch_ms
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.server.migrations import apply_schema
from personagraph.graph.server.offline_import import ImportInput, ImportResult, offline_import
from personagraph.graph.store import GraphStore
from personagraph.loaders.bulk.frames import read_file
from personagraph.loaders.bulk.import_files import (
    ARRAY_DELIMITER_OPTION,
    holds_line_breaks,
    with_integer_ids,
    write_nodes,
    write_relationships,
)
from personagraph.loaders.bulk.tables import GraphBuilder, Tables
from personagraph.loaders.bulk.validate import USER_PROPS, validate
from personagraph.loaders.pipeline import FileReport, LoadOptions, check_columns, file_context, scan_folder
from personagraph.loaders.readers import UnusableInputError, split_name
from personagraph.loaders.rejects import RejectsFile, rejects_file_name

log = logging.getLogger(__name__)

# What the caller is told as the load goes: (step, detail), e.g. ("validate", "users.csv: 1,000,000 rows").
Progress = Callable[[str, str], None]
REPLAY_BATCH = 1000
# Kinds the offline import does not build (loaders/bulk/tables.py): a folder holding them is refused, to be
# loaded transactionally after (their answers are checked against the questions' scales in the graph).
SURVEY_KINDS = frozenset({"surveys", "survey_answers"})


@dataclass
class Prepared:
    """The files' reports, the tables built from them, and the rows to replay after the import."""

    reports: list[FileReport]
    tables: Tables
    seconds: float = 0.0


@dataclass
class InitialLoad:
    reports: list[FileReport]
    imported: ImportResult | None
    replayed: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def survey_files(folder: Path) -> list[str]:
    """The names of ``folder``'s survey files, which the offline import does not build (none when the folder
    holds no input file at all: scan_folder says why when the load starts)."""
    try:
        files, _ = scan_folder(folder)
    except UnusableInputError:
        return []
    return [path.name for kind, path in files if kind.name in SURVEY_KINDS]


def prepare(folder: Path, options: LoadOptions, progress: Progress | None = None) -> Prepared:
    """Read, validate and check every file of ``folder`` and build the graph's tables (no Neo4j needed)."""
    started = time.perf_counter()
    tell = progress or (lambda step, detail: None)
    files, skipped = scan_folder(folder)
    surveys = survey_files(folder)
    if surveys:
        raise UnusableInputError(
            f"{folder}: the initial load does not take survey files ({', '.join(surveys)}): load the folder "
            "without them, then load them with `persona load` (docs/surveys.md)"
        )
    for skip in skipped:
        log.warning("%s: not loaded: %s", skip.path.name, skip.reason)
    stems = [split_name(path)[0] for _, path in files]
    builder = GraphBuilder(options.context, create_missing=options.create_missing)
    reports = []
    for (kind, path), stem in zip(files, stems, strict=True):
        begun = time.perf_counter()
        found = read_file(path, options.encoding)
        check_columns(path, kind, found.columns)
        ctx = file_context(options, path, kind)
        validated = validate(found, kind, ctx)
        rows, made = builder.check_references(kind, validated)
        if kind.name == "users":
            rows = rows.with_columns(pl.lit(ctx.consent_source).alias("consentSource"))
        builder.add(kind, rows)
        report = FileReport(path, kind.name, read=validated.read, loaded=rows.height)
        report.duplicates, report.placeholders = validated.duplicates, made
        report.encoding = found.encoding
        name = rejects_file_name(path, whole_name=stems.count(stem) > 1)
        rejects = RejectsFile(options.rejects_dir / name, path.name)
        try:
            for r in sorted(validated.rejects, key=lambda r: r.line):
                rejects.add(r.line, r.column, r.value, r.reason, r.raw)
        finally:
            rejects.close()
        report.rejected = rejects.count
        report.rejects_file = rejects.path if rejects.count else None
        report.seconds = time.perf_counter() - begun
        rate = report.read / max(report.seconds, 1e-6)
        tell(
            "validate",
            f"{path.name}: {report.read:,} rows read, {report.rejected:,} rejected, "
            f"{report.seconds:.1f}s ({rate:,.0f} rows/s)",
        )
        reports.append(report)
    tables = builder.build(epoch_ms(datetime.now(UTC)) or 0)
    return Prepared(reports, tables, time.perf_counter() - started)


def write_import_files(tables: Tables, folder: Path) -> ImportInput:
    """The tables as the importer's files in ``folder`` (node ids as numbers)."""
    tables = with_integer_ids(tables)
    nodes: dict[str, list[Path]] = {}
    relationships: dict[str, list[Path]] = {}
    multiline = False
    for node in tables.nodes:
        multiline = multiline or holds_line_breaks(node.frame)
        nodes.setdefault(node.label, []).append(write_nodes(node, folder))
    for index, rel in enumerate(tables.relationships):
        multiline = multiline or holds_line_breaks(rel.frame)
        relationships.setdefault(rel.type, []).append(write_relationships(rel, folder, index))
    return ImportInput(
        list(nodes.items()),
        list(relationships.items()),
        array_delimiter=ARRAY_DELIMITER_OPTION,
        multiline_fields=multiline,
        references_checked=True,  # GraphBuilder.check_references: every end node is in the node files
        id_type="integer",
    )


def initial_load(
    local: LocalNeo4j,
    open_store: Callable[[], AbstractContextManager[GraphStore]],
    folder: Path,
    options: LoadOptions,
    *,
    progress: Progress | None = None,
    importer_progress: Callable[[str], None] | None = None,
    work_dir: Path | None = None,
) -> InitialLoad:
    """Load ``folder`` into the local Neo4j's (empty) database through the offline importer: see the module
    docstring. ``open_store`` opens a store on the database once it is back up."""
    tell = progress or (lambda step, detail: None)
    seconds: dict[str, float] = {}
    begun = time.perf_counter()
    prepared = prepare(folder, options, progress)
    seconds["validate"] = time.perf_counter() - begun
    work = Path(tempfile.mkdtemp(prefix="import-", dir=work_dir or local.data_dir))
    try:
        begun = time.perf_counter()
        data = write_import_files(prepared.tables, work)
        seconds["write"] = time.perf_counter() - begun
        tell(
            "import",
            f"{sum(t.frame.height for t in prepared.tables.nodes):,} nodes, "
            f"{sum(t.frame.height for t in prepared.tables.relationships):,} relationships",
        )
        begun = time.perf_counter()
        lines = importer_progress or (lambda line: log.debug("import: %s", line))
        imported = offline_import(local, data, progress=lines)
        seconds["import"] = time.perf_counter() - begun
    finally:
        shutil.rmtree(work, ignore_errors=True)
    begun = time.perf_counter()
    with open_store() as store:
        tell("schema", "constraints and indexes")
        apply_schema(store, fresh_graph=True)  # the tables hold what the migrations' data statements set
        seconds["schema"] = time.perf_counter() - begun
        begun = time.perf_counter()
        replay = prepared.tables.replay
        for batch in _batches(replay, REPLAY_BATCH):
            store.write_rows("profiles/write/merge_users", batch)
        seconds["replay"] = time.perf_counter() - begun
    return InitialLoad(prepared.reports, imported, len(replay), seconds)


def _batches(rows: list[dict[str, object]], size: int) -> Iterator[list[dict[str, object]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def write_replay_file(rows: list[dict[str, Any]], folder: Path) -> Path:
    """The user rows to replay as a users.csv in ``folder`` (for imports run by hand): the input columns
    the rows came from, times in UTC (a row's consent time becomes that file's when it had none)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "users.csv"
    columns: dict[str, Callable[[dict[str, Any]], Any]] = {
        "user_id": lambda r: r["userId"],
        **{name: _prop(prop) for name, prop in USER_COLUMNS.items()},
        "marketing_consent": lambda r: r["marketingConsent"],
        "personalization_opt_out": lambda r: r["personalizationOptOut"],
        "acquired_via": lambda r: r["acquiredVia"],
        "acquired_at": lambda r: _iso(r["acquiredAt"]),
        "consent_updated_at": lambda r: _iso(r["consentAt"]) if r["consentTimed"] else None,
    }
    frame = pl.DataFrame({name: [get(r) for r in rows] for name, get in columns.items()}, strict=False)
    frame.write_csv(path, null_value="")
    return path


# users.csv's columns of the properties a row sets (the age band is derived, not a column)
USER_COLUMNS = {
    column: prop for column, prop in USER_PROPERTIES.items() if prop in USER_PROPS and prop != "ageBand"
}


def _prop(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row["props"].get(name)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()

"""Read, validate, transform and write one file or a whole dataset folder in batches."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from graph.store import GraphStore, WriteCounts, batched
from loaders.entities import KINDS, EntityKind
from loaders.readers import UnusableInputError, header, read_csv

log = logging.getLogger(__name__)


@dataclass
class FileReport:
    path: Path
    kind: str
    read: int = 0
    loaded: int = 0
    rejected: int = 0
    counts: WriteCounts = field(default_factory=WriteCounts)
    seconds: float = 0.0


@dataclass(frozen=True)
class Reject:
    line: int
    field: str
    value: Any
    reason: str


def find_file(folder: Path, kind: str) -> Path | None:
    for suffix in (".csv",):
        candidate = folder / f"{kind}{suffix}"
        if candidate.exists():
            return candidate
    return None


def load_dataset(
    store: GraphStore, folder: Path, *, batch_size: int, rejects_dir: Path | None = None
) -> list[FileReport]:
    """Load every known file of ``folder`` in dependency order."""
    if not folder.is_dir():
        raise UnusableInputError(f"{folder}: not a folder")
    reports = []
    for kind in KINDS.values():
        path = find_file(folder, kind.name)
        if path is not None:
            reports.append(load_file(store, path, kind.name, batch_size=batch_size, rejects_dir=rejects_dir))
    if not reports:
        expected = ", ".join(f"{k}.csv" for k in KINDS)
        raise UnusableInputError(f"{folder}: no input files found; expected some of {expected}")
    return reports


def load_file(
    store: GraphStore, path: Path, kind_name: str, *, batch_size: int, rejects_dir: Path | None = None
) -> FileReport:
    kind = KINDS.get(kind_name)
    if kind is None:
        raise UnusableInputError(f"unknown kind {kind_name!r}; expected one of {', '.join(KINDS)}")
    missing = [c for c in kind.required_columns if c not in header(path)]
    if missing:
        raise UnusableInputError(f"{path}: missing required column(s) {', '.join(missing)}")
    report = FileReport(path, kind.name)
    started = time.perf_counter()
    rejects: list[Reject] = []
    for batch in batched(_valid_rows(kind, path, report, rejects), batch_size):
        by_statement: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in batch:
            by_statement[row["statement"]].append(row["row"])
        for statement, rows in by_statement.items():
            report.counts = report.counts + store.write_rows(statement, rows)
        report.loaded += len(batch)
    report.rejected = len(rejects)
    if rejects:
        _write_rejects(rejects_dir or path.parent / "rejects", path, rejects)
    report.seconds = time.perf_counter() - started
    return report


def _valid_rows(
    kind: EntityKind, path: Path, report: FileReport, rejects: list[Reject]
) -> Iterator[dict[str, Any]]:
    for line, raw in read_csv(path):
        report.read += 1
        try:
            record = kind.model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ".".join(str(p) for p in first["loc"]) or "row"
            rejects.append(Reject(line, name, raw.get(name), first["msg"]))
            continue
        yield {"statement": kind.statement_for(record), "row": kind.to_row(record)}


def _write_rejects(folder: Path, path: Path, rejects: list[Reject]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}.jsonl"
    with target.open("w", encoding="utf-8") as out:
        for r in rejects:
            out.write(
                json.dumps(
                    {
                        "file": path.name,
                        "line": r.line,
                        "field": r.field,
                        "value": r.value,
                        "reason": r.reason,
                    }
                )
                + "\n"
            )
    log.warning("%d rows of %s rejected; see %s", len(rejects), path.name, target)

"""`persona load` through Neo4j's offline importer: when it applies, and the load itself with its progress.

A folder loaded into an empty database of the local Neo4j goes through ``neo4j-admin database import``
(loaders/bulk/initial.py), many times faster than transactions; anything else (a file, a database that
holds data, a server we cannot stop: NEO4J_URI, Aura, Docker) loads through transactions, and the
command says why when the importer was asked for. ``--import-files`` writes the importer's files and
prints the command, for a Neo4j of one's own elsewhere (compose, a server).
"""

from __future__ import annotations

import logging
import shlex
import time
from enum import StrEnum
from pathlib import Path

from rich.console import Console

from personagraph.cli.context import open_store
from personagraph.graph.server.choose import Neo4jSource, choose_source, local_neo4j
from personagraph.graph.server.offline_import import STAGE_LINE, database_is_empty, import_arguments
from personagraph.graph.settings import Settings
from personagraph.loaders.bulk.initial import (
    InitialLoad,
    initial_load,
    prepare,
    survey_files,
    write_import_files,
    write_replay_file,
)
from personagraph.loaders.pipeline import FileReport, LoadOptions

log = logging.getLogger(__name__)


class LoadPath(StrEnum):
    AUTO = "auto"  # the importer when it applies, else transactions
    IMPORT = "import"  # the importer, or transactions with a note saying why not
    TRANSACTIONS = "transactions"


def importer_applies(settings: Settings, path: Path, via: LoadPath, console: Console) -> bool:
    """Whether this load goes through the offline importer (see the module docstring); says why not when
    the importer was asked for."""
    if via is LoadPath.TRANSACTIONS or not path.is_dir():
        if via is LoadPath.IMPORT:
            console.print(
                "note: the offline importer loads folders only; loading the file through transactions"
            )
        return False
    surveys = survey_files(path)
    if surveys:
        if via is LoadPath.IMPORT:
            console.print(
                f"note: the offline importer does not take survey files ({', '.join(surveys)}); loading "
                "through transactions (docs/surveys.md)",
                highlight=False,
            )
        return False
    source = choose_source(settings)
    if source is not Neo4jSource.LOCAL:
        if via is LoadPath.IMPORT:
            console.print(
                "note: the offline importer needs a Neo4j this command can stop (the local one); the "
                f"{source} server loads through transactions (for a Neo4j of your own: --import-files, "
                "docs/data-format.md)",
                highlight=False,
            )
        return False
    with open_store(settings) as store:
        empty = database_is_empty(store)
    if not empty:
        if via is LoadPath.IMPORT:
            console.print(
                "note: the database holds data and the offline importer replaces a database whole; loading "
                "through transactions (`persona wipe` first for an initial load)",
                highlight=False,
            )
        return False
    return True


def load_initial(
    settings: Settings, folder: Path, options: LoadOptions, console: Console
) -> list[FileReport]:
    """The initial load of ``folder`` into the local Neo4j, with a line per step."""
    local = local_neo4j(settings)
    status = local.status()
    local.port = status.port or local.port
    started = time.perf_counter()

    def tell(step: str, detail: str) -> None:
        console.print(
            f"[{time.perf_counter() - started:6.1f}s] {step}: {detail}", highlight=False, markup=False
        )

    def importer_line(line: str) -> None:
        if STAGE_LINE.search(line):
            tell("import", line.strip())

    console.print(
        f"initial load of {folder} through the offline importer (the database is empty)", highlight=False
    )
    done: InitialLoad = initial_load(
        local, lambda: open_store(settings), folder, options, progress=tell, importer_progress=importer_line
    )
    assert done.imported is not None
    parts = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in done.seconds.items())
    console.print(
        f"imported {done.imported.nodes:,} nodes and {done.imported.relationships:,} relationships; "
        f"{done.replayed:,} repeated user rows replayed; {parts}",
        highlight=False,
    )
    return done.reports


def write_import_only(folder: Path, out: Path, options: LoadOptions, console: Console) -> list[FileReport]:
    """Validate ``folder`` and write the importer's files to ``out``, then print the command to run."""
    out.mkdir(parents=True, exist_ok=True)
    prepared = prepare(folder, options)
    data = write_import_files(prepared.tables, out)
    command = shlex.join(
        [
            "neo4j-admin",
            "database",
            "import",
            "full",
            "--overwrite-destination",
            *import_arguments(data),
            "--",
            "neo4j",
        ]
    )
    console.print(
        f"importer files in {out}; with that Neo4j stopped, run:\n  {command}",
        highlight=False,
        soft_wrap=True,
    )
    console.print("then start it and run `persona schema apply`", highlight=False)
    if prepared.tables.replay:
        later = write_replay_file(prepared.tables.replay, out / "then")
        console.print(
            f"and then `persona load {later.parent} --via transactions`: the {len(prepared.tables.replay):,} "
            "user rows that repeat an earlier id, in file order",
            highlight=False,
        )
    return prepared.reports

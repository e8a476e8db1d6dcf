"""Initial loads through Neo4j's offline importer (`neo4j-admin database import full`) into the local Neo4j.

The importer writes store files directly, far faster than transactions, but only into a stopped
database and only as a whole: ``--overwrite-destination`` replaces every node, relationship, index,
constraint and the schema ledger (and so the suppression list of forgotten users: check
:func:`database_is_empty` first). The ``system`` database, and with it the ``neo4j`` user's password,
is not touched. :func:`offline_import` stops the local Neo4j, runs the importer, and starts Neo4j again
(always, so the caller can apply the schema next with ``apply_schema``). A failed import that had begun
writing leaves a store Neo4j cannot start on: it is removed, so Neo4j comes back with the database empty.

The files are CSV with Neo4j's import headers, e.g. ``userId:ID(User),city,at:datetime,hours:long[]``
and ``:START_ID(User),:END_ID(User),since:datetime``; each group is a header file first, then data
files. Fields are separated by commas, array elements by ``ImportInput.array_delimiter`` (by default
``ARRAY_DELIMITER``, ``;``: ``1;2;3`` for ``hours:long[]``); empty fields mean no property. The import
is strict: a duplicate node id, a relationship naming a missing node or any other bad entry fails it
(nothing is skipped), and the message names the entry.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from personagraph.graph.errors import LocalNeo4jError
from personagraph.graph.server.local import ADMIN_CLASS, JVM_FLAGS, LocalNeo4j
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)

ARRAY_DELIMITER = ";"  # between the elements of an array value (`hours:long[]`: `1;2;3`), Neo4j's default
MAX_OFF_HEAP_MEMORY = "50%"  # of the machine's memory, for the importer's caches (Neo4j's default is 90%)
TAIL_LINES = 20  # output lines an error quotes
REPORT_HEAD_CHARS = 2000  # of the bad-entries report an error quotes

_DATABASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The importer's lines that mark a stage (its --verbose form, which offline_import runs) and the end,
# for a progress display that leaves the rest out.
STAGE_LINE = re.compile(r"^[A-Z][^\[\]]*, started \d{4}-\d\d-\d\d |^IMPORT (?:DONE|FAILED)")
_IMPORTED = re.compile(r"Imported:\s+([\d,]+) nodes\s+([\d,]+) relationships\s+([\d,]+) properties")
_CAUSE = re.compile(r"^(?:Caused by: )?(?:[a-z]\w*\.)+[A-Z][\w$]*(?:Exception|Error): (.*)$", re.MULTILINE)
# Printed once the importer has begun on the store (after that, not before: a bad option or a missing
# file fails earlier, and then the store is as it was).
_STARTED_WRITING = re.compile(r"^IMPORT FAILED|store files in .* are left as they are", re.MULTILINE)


@dataclass(frozen=True)
class ImportInput:
    """What to import: groups of CSV files, each a header file first and then its data files."""

    nodes: list[tuple[str, list[Path]]]  # (label, or labels as "A:B", or "" for a :LABEL column; files)
    relationships: list[tuple[str, list[Path]]]  # (TYPE, or "" for a :TYPE column; files)
    # Between array elements: one character, or the importer's names for one ("TAB", "U+001F").
    array_delimiter: str = ARRAY_DELIMITER
    multiline_fields: bool = False  # quoted values may hold line breaks (slows the importer down)
    # Every relationship's end nodes are known to be in the node files (loaders/bulk checks references):
    # the importer's lenient lookup then suffices; else --strict, which finds every missing node, slower.
    references_checked: bool = False
    # "string": node ids are text (`userId:ID(User)`); "integer": numbers, which the importer maps far
    # faster (a key kept as a property is then a column of its own).
    id_type: str = "string"


@dataclass(frozen=True)
class ImportResult:
    """What the importer reported: counts, and how long it ran (the restart apart)."""

    nodes: int
    relationships: int
    properties: int
    seconds: float
    report_file: Path  # the bad-entries report (empty when nothing was bad)


def database_is_empty(store: GraphStore) -> bool:
    """True when the database holds no data (the schema ledger apart): an offline import, which replaces
    everything, loses nothing there. The suppression list counts as data: it must survive loads."""
    row = store.read("server/read/count_data")[0]
    return int(row["nodes"]) == 0


def offline_import(
    local: LocalNeo4j,
    data: ImportInput,
    *,
    database: str = "neo4j",
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Replace ``database`` of the local Neo4j with the files' contents through ``neo4j-admin database
    import full``: stop Neo4j, import, start it again and wait until it answers. ``progress`` gets each
    line the importer prints (else they go to the debug log). On failure (LocalNeo4jError, naming the
    bad entry) Neo4j is started again too, with the database empty if the importer had begun writing."""
    if not _DATABASE.fullmatch(database) or ".." in database:
        raise LocalNeo4jError(f"offline import: {database!r} is not a database name")
    arguments = import_arguments(data)  # checks the files before anything stops
    classpath = local.admin_classpath()  # resolved (first use only) before Neo4j goes down
    env = {**os.environ, **local.admin_env()}
    report_file = local.data_dir / f"import-{database}.report"
    report_file.unlink(missing_ok=True)
    command = [
        local._java_tool("java"),
        f"-Xms{local.heap}",
        f"-Xmx{local.heap}",
        *JVM_FLAGS,
        "-cp",
        classpath,
        ADMIN_CLASS,
        "database",
        "import",
        "full",
        "--verbose",  # else a failure says "Error in input data" without the entry (see STAGE_LINE)
        "--overwrite-destination=true",
        f"--report-file={report_file}",
        f"--threads={threads or os.cpu_count() or 1}",
        f"--max-off-heap-memory={MAX_OFF_HEAP_MEMORY}",
        *arguments,
        "--",  # --nodes takes many values: without this it would swallow the database name as a file
        database,
    ]
    was_running = local.stop()
    state = "stopped for it" if was_running else "was not running"
    log.info("Offline import into %s (Neo4j %s)", database, state)
    started = time.monotonic()
    try:
        returncode, output, tail = _run(command, env, local.data_dir, progress)
    except OSError as exc:  # it did not run at all
        raise LocalNeo4jError(
            f"could not run neo4j-admin: {exc}" + _start_after_failure(local, database, reset=False)
        ) from exc
    except BaseException:  # interrupted (or ``progress`` raised): no waiting for a start on the way out
        log.error(
            "The offline import was interrupted: Neo4j stays stopped and database %r is in an unknown "
            "state (likely partly written, which Neo4j cannot start on): import again",
            database,
        )
        raise
    seconds = time.monotonic() - started
    counts = _IMPORTED.search(output)
    if returncode != 0 or counts is None:
        # Once it began writing, the importer leaves a store Neo4j refuses to start on ("Transaction logs
        # are missing and recovery is not possible"), and the database's old content is gone anyway.
        wrote = _STARTED_WRITING.search(output) is not None
        message = _failure(database, returncode, output, tail, report_file, reset=wrote)
        raise LocalNeo4jError(message + _start_after_failure(local, database, reset=wrote))
    nodes, relationships, properties = (int(n.replace(",", "")) for n in counts.groups())
    result = ImportResult(nodes, relationships, properties, seconds, report_file)
    log.info(
        "Imported %d nodes, %d relationships, %d properties in %.1fs; starting Neo4j",
        result.nodes,
        result.relationships,
        result.properties,
        seconds,
    )
    local.start()
    return result


def import_arguments(data: ImportInput) -> list[str]:
    """The importer's options saying what to read and how strictly, the files checked (LocalNeo4jError):
    ``neo4j-admin database import full --overwrite-destination <these> -- neo4j`` imports the files by
    hand (``shlex.join`` it for a shell: the file names are regex-quoted with backslashes). They end
    with a one-value option, so a database name right after them is not taken for a file."""
    return [
        *_group_arguments(data),
        f"--id-type={data.id_type}",
        f"--array-delimiter={data.array_delimiter}",
        f"--multiline-fields={'true' if data.multiline_fields else 'false'}",
        "--ignore-empty-strings=true",
        "--skip-bad-relationships=false",
        "--skip-duplicate-nodes=false",
        # lenient: "most but not all" relationships to missing nodes are found; right when none can be
        f"--strict={'false' if data.references_checked else 'true'}",
        "--bad-tolerance=0",
    ]


def _group_arguments(data: ImportInput) -> list[str]:
    """The --nodes/--relationships options."""
    arguments: list[str] = []
    for option, groups, kind in (
        ("--nodes", data.nodes, "label"),
        ("--relationships", data.relationships, "relationship type"),
    ):
        for name, files in groups:
            parts = name.split(":") if name else []
            if any(not _NAME.fullmatch(p) for p in parts) or (option == "--relationships" and len(parts) > 1):
                raise LocalNeo4jError(f"offline import: {name!r} is not a {kind} (letters, digits, _)")
            if not files:
                raise LocalNeo4jError(f"offline import: no files for {name or 'unnamed'} {option[2:]}")
            paths = ",".join(_file_pattern(path) for path in files)
            arguments.append(f"{option}={name}={paths}" if name else f"{option}={paths}")
    if not data.nodes:
        raise LocalNeo4jError("offline import: no node files (the importer needs at least one group)")
    return arguments


def _file_pattern(path: Path) -> str:
    """The importer splits a group on commas and reads each file name as a Java regex: quote it."""
    absolute = path.resolve()
    if not absolute.is_file():
        raise LocalNeo4jError(f"offline import: {path} is not a file")
    text = str(absolute)
    if "," in text or "\\" in text or "=" in text or text != text.strip():
        raise LocalNeo4jError(
            f"offline import: {path}: the importer cannot name a file with ',', '=', '\\' or edge "
            "spaces in its path; rename it"
        )
    # re.escape only puts a backslash before punctuation and spaces, which Java reads literally too.
    return f"{absolute.parent}/{re.escape(absolute.name)}"


def _run(
    command: Sequence[str], env: dict[str, str], cwd: Path, progress: Callable[[str], None] | None
) -> tuple[int, str, list[str]]:
    """Run the importer, passing each line on; returns its exit code, output and last lines."""
    lines: list[str] = []
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.rstrip()
            lines.append(line)
            if not line.strip():
                continue
            if not line.lstrip().startswith("at ") and not line.lstrip().startswith("... "):
                tail.append(line)  # stack frames tell users nothing
            if progress is not None:
                progress(line)
            else:
                log.debug("neo4j-admin: %s", line)
        returncode = process.wait()
    return returncode, "\n".join(lines), list(tail)


def _failure(
    database: str, returncode: int, output: str, tail: list[str], report_file: Path, *, reset: bool
) -> str:
    causes = [m.group(1) for m in _CAUSE.finditer(output) if m.group(1).strip()]
    what = causes[-1].strip() if causes else "see its output below"  # the innermost cause says most
    if reset:
        state = (
            f"Database {database!r} was partly written, which Neo4j cannot start on: it was removed and "
            "Neo4j starts it empty (its old content was already gone); fix the files and import again."
        )
    else:
        state = (
            f"The importer stopped before writing: database {database!r} should be as it was, but its "
            "state is unknown; check it before use."
        )
    message = [
        f"neo4j-admin database import full failed (exit code {returncode}): {what}",
        state,
        "Last output:",
        *(f"  {line}" for line in tail),
    ]
    try:
        report = report_file.read_text(encoding="utf-8", errors="replace")[:REPORT_HEAD_CHARS].strip()
    except OSError:
        report = ""
    if report:
        message += [f"Report ({report_file}):", *(f"  {line}" for line in report.splitlines())]
    return "\n".join(message)


def _start_after_failure(local: LocalNeo4j, database: str, *, reset: bool) -> str:
    """Start Neo4j again after a failed import, first removing a partly written store when ``reset``;
    a failed start is told (the returned text), not raised over the import's own error."""
    if reset:
        for folder in local.store_dirs(database):
            shutil.rmtree(folder, ignore_errors=True)
    try:
        local.start()
    except LocalNeo4jError as exc:
        log.exception("Neo4j did not start again after the failed import")
        return f"\nNeo4j did not start again: {exc}"
    return ""

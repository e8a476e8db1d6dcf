"""`persona`: run Neo4j, apply the schema, load data, serve GraphQL."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from personagraph.cli.audience import audience_app
from personagraph.cli.bulk import LoadPath, importer_applies, load_initial, write_import_only
from personagraph.cli.context import open_store, operator
from personagraph.cli.demo import ANALYSES, DEMO_USERS, GDS_ANALYSES, build_demo, run_analysis
from personagraph.cli.events import changes_app, consume, events_app
from personagraph.cli.keys import key_file, keys_app
from personagraph.cli.output import PROGRESS_COLUMNS, CliConsole, examples, file_progress, log_handler
from personagraph.cli.privacy import FORGET_EXAMPLES, consent_app, forget_cmd
from personagraph.cli.tags import as_of_option, tags_app
from personagraph.cli.webhooks import webhooks_app
from personagraph.graph.as_of import AsOf
from personagraph.graph.audit import AuditEntry, AuditLog
from personagraph.graph.errors import (
    GraphLacksDataError,
    Neo4jAuthError,
    Neo4jUnavailableError,
    PersonaGraphError,
)
from personagraph.graph.privacy.forget import suppression_key
from personagraph.graph.profiles.identities import resolve_identities, split_user
from personagraph.graph.records import RowContext
from personagraph.graph.secrets import identity_key
from personagraph.graph.server.choose import Neo4jSource, choose_source, compose_down, local_neo4j
from personagraph.graph.server.connection import open_driver, resolve_connection, start_neo4j
from personagraph.graph.server.migrations import apply_schema
from personagraph.graph.server.wipe import data_counts, wipe
from personagraph.graph.settings import Settings, get_settings
from personagraph.loaders.adapters.online_retail import convert_online_retail
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset, load_file
from personagraph.loaders.readers import UnusableInputError

console = CliConsole(stderr=True)  # logs, progress and reports; data goes to stdout
app = typer.Typer(
    help=__doc__,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    epilog=examples(
        "persona demo                     # a generated shop, analysed and served",
        "persona neo4j start && persona schema apply",
        "persona load data/               # every file of a dataset folder",
        "persona analyze all && persona tags refresh",
        "persona audience count vip.json  # see persona audience --help",
        "persona serve --port 8000",
        "persona tags list > tags.txt     # data on stdout, logs on stderr",
        "persona COMMAND --help           # options and examples of a command",
    ),
)
neo4j_app = typer.Typer(help="Start, stop and inspect Neo4j.", no_args_is_help=True)
schema_app = typer.Typer(help="Constraints and indexes.", no_args_is_help=True)
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(schema_app, name="schema")
app.add_typer(tags_app, name="tags")
app.add_typer(audience_app, name="audience")
app.add_typer(consent_app, name="consent")
app.command("forget", epilog=FORGET_EXAMPLES)(forget_cmd)
app.add_typer(keys_app, name="keys")
app.add_typer(events_app, name="events")
app.command(
    "consume",
    epilog=examples(
        "PERSONA_KAFKA_BOOTSTRAP=127.0.0.1:9092 persona consume   # one member of the group; start several",
        "persona consume --once                                   # fold what is waiting, then exit",
    ),
)(consume)
app.add_typer(changes_app, name="changes")
app.add_typer(webhooks_app, name="webhooks")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"persona {package_version('personagraph')}")
        raise typer.Exit()


@app.callback()
def _setup(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[log_handler(console)],  # plain lines when stderr is a file or a pipe
    )
    logging.getLogger("neo4j").setLevel(logging.WARNING)


@neo4j_app.command("start")
def neo4j_start() -> None:
    """Start Neo4j: NEO4J_URI if set, else Docker compose, else the local launcher."""
    settings = get_settings()
    info = start_neo4j(settings)
    console.print(f"Neo4j ready at [bold]{info.uri}[/] (source: {info.source})")


@neo4j_app.command("stop")
def neo4j_stop() -> None:
    """Stop the Neo4j that `persona neo4j start` started."""
    settings = get_settings()
    source = choose_source(settings)
    if source is Neo4jSource.URI:
        console.print("NEO4J_URI is set: that server is not ours to stop.")
    elif source is Neo4jSource.DOCKER:
        compose_down()
    elif local_neo4j(settings).stop():
        console.print("Neo4j stopped.")
    else:
        console.print("Neo4j was not running.")


@neo4j_app.command("status")
def neo4j_status() -> None:
    """Say which Neo4j would be used and whether it answers (exit 1 when it does not)."""
    settings = get_settings()
    source = choose_source(settings)
    if source is Neo4jSource.LOCAL:
        status = local_neo4j(settings).status()
        if not status.running:
            console.print(f"local Neo4j: not running (data in {status.data_dir})")
            raise typer.Exit(1)
        console.print(
            f"local Neo4j {status.version}: running, pid {status.pid}, "
            f"bolt://127.0.0.1:{status.port}, data in {status.data_dir}"
        )
    info = resolve_connection(settings)
    open_driver(info, wait_s=2).close()
    console.print(f"{source} Neo4j at {info.uri}: answering")


@schema_app.command("apply")
def schema_apply() -> None:
    """Apply constraints and indexes not yet applied (safe to repeat)."""
    with open_store(get_settings()) as store:
        report = apply_schema(store)
    for m in report.applied:
        console.print(f"applied V{m.version:03d} {m.name}")
    console.print(f"schema up to date ({len(report.applied)} applied, {len(report.already)} already there)")


@app.command(
    "wipe",
    epilog=examples(
        "persona wipe                           # asks first, naming the database",
        "persona wipe --yes && persona load data/",
        "persona wipe --yes --suppression-list  # a scratch database: all of it",
    ),
)
def wipe_cmd(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts).")] = False,
    suppression_list: Annotated[
        bool,
        typer.Option(
            "--suppression-list",
            help="Delete the suppression list of forgotten users too: they could come back with a reload.",
        ),
    ] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who wipes, for the audit log (default: the OS user).")
    ] = None,
) -> None:
    """Empty the database for a fresh load: every node and relationship.

    The schema stays (constraints, indexes and the migration ledger), and so does the suppression list of
    forgotten users unless --suppression-list is given. Asks first, naming the database and how many nodes
    go, unless --yes. The audit log gets a `wipe` entry.
    """
    settings = get_settings()
    info = resolve_connection(settings)
    with open_store(settings) as store:
        counts = data_counts(store)
        doomed = counts.nodes if suppression_list else counts.nodes - counts.suppression
        where = f"database {store.database!r} at {info.uri}"
        kept = (
            f" (the suppression list of forgotten users stays: {counts.suppression:,} nodes)"
            if counts.suppression and not suppression_list
            else ""
        )
        if not doomed:
            console.print(f"{where} holds no data to delete{kept}", highlight=False, markup=False)
            return
        if not yes:
            typer.confirm(
                f"Delete all {doomed:,} nodes of {where}, with their relationships? The schema stays{kept}",
                abort=True,
            )
        wipe(store, suppression=suppression_list)
    AuditLog(settings.audit_log_path).record(
        AuditEntry(
            actor=operator(actor),
            role="admin",
            action="wipe",
            what="persona wipe",
            rows=doomed,
            details={"database": info.database, "uri": info.uri, "suppression_list": suppression_list},
        )
    )
    console.print(f"deleted {doomed:,} nodes of {where}{kept}", highlight=False, markup=False)


@app.command(
    "load",
    epilog=examples(
        "persona load data/            # users.csv, orders.csv, ... in dependency order",
        "persona load exports/users_2024.csv --kind users   # one file of a kind",
        "persona load data/ --rejects rejects/ --report-json load.json",
        "persona load data/ --create-missing   # placeholders for unknown ids",
        "persona load data/ --via import   # say so when the offline importer cannot be used",
        "persona load data/ --import-files out/   # the importer's files, for a Neo4j elsewhere",
        "Exit: 0 all rows loaded, 3 some rejected (see the rejects), 2 unusable.",
    ),
)
def load(
    path: Annotated[Path, typer.Argument(help="A dataset folder, or one file with --kind.")],
    kind: Annotated[str | None, typer.Option(help="Kind of a single file (default: from its name).")] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Folder of <file>.jsonl rejects (default: PERSONA_DATA_DIR/rejects).")
    ] = None,
    create_missing: Annotated[
        bool, typer.Option(help="Create placeholder users/products/channels/tags instead of rejecting.")
    ] = False,
    batch_size: Annotated[int | None, typer.Option(help="Rows per transaction (PERSONA_BATCH_SIZE).")] = None,
    report_json: Annotated[Path | None, typer.Option(help="Also write the per-file report as JSON.")] = None,
    encoding: Annotated[
        str,
        typer.Option(help="Encoding of CSV/JSONL files (e.g. gb18030, latin-1); auto: detected per file."),
    ] = "auto",
    via: Annotated[
        LoadPath,
        typer.Option(
            help="auto: a folder into an empty local Neo4j goes through Neo4j's offline importer "
            "(minutes for millions of rows), anything else through transactions; import: the importer, or "
            "a note saying why not; transactions: never the importer."
        ),
    ] = LoadPath.AUTO,
    import_files: Annotated[
        Path | None,
        typer.Option(
            help="Only validate and write the offline importer's files here, and print the command."
        ),
    ] = None,
    write_unchanged: Annotated[
        bool,
        typer.Option(
            help="Write every row again, also those the graph already holds as they are (by default "
            "they are left out: a repeated export costs a read, not a write)."
        ),
    ] = False,
) -> None:
    """Load a dataset folder in dependency order, or one file.

    A folder's files are named <kind>[anything].csv|jsonl|parquet, optionally .gz/.bz2/.zip
    (users.csv, users_2024.csv, orders.csv.gz); every other file is listed as not loaded, with why.

    A folder loaded into an empty local Neo4j goes through Neo4j's offline importer (the database is
    stopped for it), with the same validation, rejects and resulting graph; see docs/data-format.md.

    Rows naming a user who asked to be forgotten (`persona forget`) are rejected. Exit 0 when every
    row loaded, 3 when some were rejected, 2 when the input is unusable.
    """
    if not path.exists():
        console.print(
            f"[red]error:[/] {escape(str(path))} does not exist (expected a dataset folder or a file)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    settings = get_settings()
    options = load_options(
        settings, rejects_dir=rejects, create_missing=create_missing, batch_size=batch_size
    )
    options = dataclasses.replace(options, encoding=encoding, write_unchanged=write_unchanged)
    try:
        if import_files is not None:
            reports = write_import_only(path, import_files, options, console)
        elif importer_applies(settings, path, via, console):
            reports = load_initial(settings, path, options, console)
        else:
            reports = _load_by_transactions(settings, path, kind, options)
    except UnusableInputError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc
    _print_reports(reports)
    if report_json is not None:
        report_json.write_text(json.dumps([r.as_dict() for r in reports], indent=2), encoding="utf-8")
    if any(r.rejected for r in reports):
        raise typer.Exit(3)


def _load_by_transactions(
    settings: Settings, path: Path, kind: str | None, options: LoadOptions
) -> list[FileReport]:
    with open_store(settings) as store, file_progress(console) as bar:
        if path.is_dir():
            return load_dataset(store, path, options=options, progress=bar)
        return [load_file(store, path, kind=kind, options=options, progress=bar(path))]


def load_options(
    settings: Settings,
    *,
    rejects_dir: Path | None = None,
    create_missing: bool = False,
    batch_size: int | None = None,
) -> LoadOptions:
    """Load options from settings; rejects go to ``<data_dir>/rejects`` unless ``rejects_dir`` is given."""
    salt = identity_key(settings)  # PERSONA_IDENTITY_SALT, else derived from the master secret; never empty
    return LoadOptions(
        batch_size=batch_size or settings.batch_size,
        rejects_dir=rejects_dir or settings.data_dir / "rejects",
        create_missing=create_missing,
        context=RowContext(identity_salt=salt, timezone=settings.timezone),
        suppression_key=suppression_key(settings),
    )


def _print_reports(reports: list[FileReport]) -> None:
    table = Table(title="load")
    headers = ("file", "read", "loaded", "unchanged", "rejected", "dupes", "nodes+", "edges+", "props", "s")
    for column in headers:
        table.add_column(column, justify="left" if column == "file" else "right", no_wrap=True)
    for r in reports:
        table.add_row(
            r.path.name,
            f"{r.read:,}",
            f"{r.loaded:,}",
            f"{r.unchanged:,}",
            f"{r.rejected:,}",
            f"{r.duplicates:,}",
            f"{r.counts.nodes_created:,}",
            f"{r.counts.relationships_created:,}",
            f"{r.counts.properties_set:,}",
            f"{r.seconds:.1f}",
        )
    console.print(table)
    for r in reports:
        if r.encoding and not r.encoding.startswith("utf-8"):
            console.print(f"{r.path.name}: read as {r.encoding}", highlight=False)
    for r in reports:
        if r.rejects_file:
            rows = f"{r.rejected:,} rejected {'row' if r.rejected == 1 else 'rows'}"
            console.print(f"{rows} of {r.path.name}: {r.rejects_file}", highlight=False)


identities_app = typer.Typer(
    help="Resolve users sharing identities into customers, or split them.", no_args_is_help=True
)
app.add_typer(identities_app, name="identities")
convert_app = typer.Typer(
    help="Convert public datasets into personagraph's input format.", no_args_is_help=True
)
app.add_typer(convert_app, name="convert")


@identities_app.command("resolve")
def identities_resolve() -> None:
    """Link users that share an email, phone, device, ... hash to one canonical customer."""
    with open_store(get_settings()) as store:
        report = resolve_identities(store)
    console.print(
        f"{report.customers:,} customers with several user ids; {report.users_linked:,} users linked"
    )


@identities_app.command("split")
def identities_split(user_id: Annotated[str, typer.Argument(help="The user to detach.")]) -> None:
    """Detach a user from its customer and keep it apart from future resolutions."""
    with open_store(get_settings()) as store:
        removed = split_user(store, user_id=user_id)
    console.print(f"{user_id}: {removed} SAME_AS link(s) removed")


@convert_app.command("online-retail")
def convert_online_retail_cmd(
    source: Annotated[Path, typer.Argument(help="online-retail CSV (UCI Online Retail).")],
    out_dir: Annotated[Path, typer.Argument(help="Dataset folder to write.")],
) -> None:
    """UCI Online Retail invoices -> channels, users, products, orders (see docs/datasets.md)."""
    report = convert_online_retail(source, out_dir)
    console.print(
        f"{report.source_rows:,} source rows; written {report.written}; dropped {report.dropped}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("generate")
def generate_cmd(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the dataset (and truth/) into.")],
    users: Annotated[int, typer.Option(help="How many users.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same files.")] = 42,
    bad_row_share: Annotated[float, typer.Option(help="Share of deliberately bad rows per file.")] = 0.005,
) -> None:
    """Write a realistic synthetic dataset with planted truth (communities, influencers, bundles, ...)."""
    with Progress(*PROGRESS_COLUMNS, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("users", total=users, rate="-")
        report = generate(
            out_dir,
            users=users,
            seed=seed,
            bad_row_share=bad_row_share,
            progress=lambda _stage, done: progress.update(task, completed=done),
        )
    for name, rows in report.rows.items():
        console.print(f"{name:<16} {rows:>12,} rows ({report.bad_rows.get(name, 0):,} bad)", highlight=False)
    console.print(f"planted truth in {report.truth_dir}", highlight=False)


@app.command(
    "analyze",
    epilog=examples(
        "persona analyze                        # every analysis, in order",
        "persona analyze influence --no-reach   # PageRank without 2-hop reach",
        "persona analyze copurchase             # pairs bought together",
        "persona analyze personas",
        "persona analyze influence --engine gds # PageRank in Graph Data Science inside Neo4j",
    ),
)
def analyze(
    what: Annotated[str, typer.Argument(help=f"all, or one of: {', '.join(ANALYSES)}.")] = "all",
    reach: Annotated[
        bool, typer.Option("--reach/--no-reach", help="Compute 2-hop reach with influence (costly at scale).")
    ] = True,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Segments: ISO time lifecycle tiers count back from, 'latest' (the default: the latest "
            "order or behaviour event in the graph, as rule tags) or 'now'.",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            envvar="PERSONA_ANALYTICS_ENGINE",
            help=f"python (numpy/igraph here) or gds (Graph Data Science inside Neo4j, for "
            f"{', '.join(GDS_ANALYSES)}; the others compute in Python). Same results, same writes.",
        ),
    ] = "python",
) -> None:
    """Compute analytics over the graph and write the results back, each as a recorded AnalyticsRun."""
    if engine not in ("python", "gds"):
        console.print(f"[red]error:[/] unknown engine {engine!r}; expected python or gds")
        raise typer.Exit(2)
    names = ANALYSES if what == "all" else (what,)
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        console.print(
            f"[red]error:[/] unknown analysis {unknown[0]!r}; expected all or one of {', '.join(ANALYSES)}"
        )
        raise typer.Exit(2)
    table = Table(title="analyze")
    for column in ("analysis", "run", "seconds", "result"):
        table.add_column(column, no_wrap=column != "result")
    shared: dict[str, object] = {}  # influence and communities read the social graph once
    notes: list[str] = []
    with open_store(get_settings()) as store:
        when = as_of_option(store, as_of)
        for name in names:
            started = time.perf_counter()
            try:
                with console.status(f"{name}: projecting, computing, writing back ..."):
                    report = run_analysis(store, name, shared=shared, reach=reach, as_of=when, engine=engine)
            except GraphLacksDataError as exc:
                if what != "all":
                    raise
                # `all` runs what the graph supports: a graph without order history has nothing to learn from
                table.add_row(name, "", f"{time.perf_counter() - started:.1f}", f"skipped: {exc}")
                continue
            table.add_row(
                name,
                str(getattr(report, "run_id", "")),
                f"{time.perf_counter() - started:.1f}",
                _summary(report),
            )
            notes += _notes(report)
    console.print(table)
    for note in notes:
        console.print(note, highlight=False)


def _notes(report: object) -> list[str]:
    """What a run's one-line summary leaves out but a reader must know: the as-of a segment run used,
    and which personas are new, kept (the same id for the same cluster) or retired."""
    from personagraph.graph.analytics.personas import PersonaReport  # lazy: numpy and scikit-learn
    from personagraph.graph.analytics.predictions import PredictionReport
    from personagraph.graph.analytics.segments import SegmentReport

    if isinstance(report, SegmentReport):
        return [f"segments: lifecycle tiers as of {AsOf(report.as_of, report.as_of_basis)}"]
    if isinstance(report, PredictionReport):
        return [f"predictions: {report.headline()}"]
    if isinstance(report, PersonaReport):
        notes = []
        for p in report.personas:
            if p.status == "new":
                notes.append(f"personas: {p.persona_id} new: {p.name} ({p.size:,} users)")
                continue
            renamed = f"; was named {p.previous_name!r}" if p.previous_name != p.name else ""
            moved = f"centroid moved {p.distance}"
            notes.append(f"personas: {p.persona_id} kept: {p.name} ({p.size:,} users; {moved}{renamed})")
        notes += [
            f"personas: {r.persona_id} retired: {r.name} (not found again; the id is never reused)"
            for r in report.retired
        ]
        return notes
    return []


def _summary(report: object) -> str:
    """The report's scalar fields, compactly."""
    fields = getattr(report, "__dataclass_fields__", {})
    values = {k: getattr(report, k) for k in fields if k not in ("run_id", "seconds")}
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in values.items()
        if isinstance(v, int | float | str)
    )


@app.command(
    "serve",
    epilog=examples(
        "persona serve                 # at PERSONA_API_HOST:PERSONA_API_PORT",
        "persona serve --host 0.0.0.0 --port 8000 --workers 4",
        "persona keys create --name web --role service && persona serve",
    ),
)
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default PERSONA_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PERSONA_API_PORT).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (default PERSONA_API_WORKERS, else the cores)."),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: debug, info, warning, error.")] = "info",
) -> None:
    """Serve GraphQL at http://HOST:PORT/graphql (GraphiQL in a browser), /healthz, /readyz, /metrics."""
    import uvicorn

    settings = get_settings()
    host, port = host or settings.api_host, port or settings.api_port
    workers = workers or settings.api_workers
    _check_neo4j(settings)  # before uvicorn: its failed start-up is a traceback per worker
    console.print(
        f"GraphQL at [bold]http://{host}:{port}/graphql[/] with {workers} worker(s) (Ctrl-C to stop)"
    )
    from personagraph.api.metrics import multiprocess_dir

    with multiprocess_dir(workers):  # /metrics adds up every worker (PROMETHEUS_MULTIPROC_DIR)
        uvicorn.run(
            "personagraph.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )


def _check_neo4j(settings: Settings) -> None:
    """One clear line and exit 2 when Neo4j refuses the credentials or does not answer (within
    PERSONA_NEO4J_CONNECT_TIMEOUT_S, as the API's start-up waits)."""
    try:
        open_driver(resolve_connection(settings), wait_s=settings.neo4j_connect_timeout_s).close()
    except (Neo4jAuthError, Neo4jUnavailableError) as exc:
        said = " ".join(str(exc).split())  # the driver's reasons come on several lines
        console.print(f"[red]error:[/] {escape(said)}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from exc


@app.command("api-schema")
def api_schema(
    out: Annotated[Path | None, typer.Option(help="Write the SDL to this file instead of stdout.")] = None,
) -> None:
    """Print the GraphQL schema (SDL); `--out schema.graphql` refreshes the committed copy."""
    from personagraph.api.schema import schema

    sdl = schema.as_str() + "\n"
    if out is None:
        sys.stdout.write(sdl)
    else:
        out.write_text(sdl, encoding="utf-8")
        console.print(f"wrote {out}", highlight=False)


@app.command("demo")
def demo(
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve GraphQL afterwards.")] = True,
    workdir: Annotated[
        Path | None, typer.Option(help="Where the generated demo files go (default: PERSONA_DATA_DIR/demo).")
    ] = None,
) -> None:
    """Start Neo4j, load a generated shop, run every analysis and the rule tags, then serve GraphQL."""
    settings = get_settings()
    start_neo4j(settings)
    folder = workdir or settings.data_dir / "demo"
    with open_store(settings) as store:
        apply_schema(store)
        report = build_demo(
            store,
            folder,
            options=load_options(settings, rejects_dir=folder / "rejects"),
            step=lambda what: console.print(f"demo: {what} ...", highlight=False),
            loaded=_print_reports,  # the load table where the load happened, not after the analyses
        )
    console.print(
        f"demo graph ready: {DEMO_USERS:,} users, {len(report.analyses)} analyses, "
        f"rule tags for {report.tagged_users:,} users",
        highlight=False,
    )
    url = f"http://{settings.api_host}:{settings.api_port}/graphql"
    keys = key_file()
    keys.revoke("demo")  # one demo key at a time
    _, token = keys.create("demo", "admin")
    console.print(
        f"Every request needs a key. This run's admin key (named 'demo'; revoke with `persona keys "
        f"revoke demo`):\n  {token}\nIn GraphiQL, open Headers and paste "
        f'{{"Authorization": "Bearer {token}"}}; with curl: -H "Authorization: Bearer {token}"',
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"Open [bold]{url}[/] (GraphiQL) and try the examples in docs/queries.md, or the console at "
        f"[bold]http://{settings.api_host}:{settings.api_port}/console[/] (audiences, profiles, personas, "
        "insights, live: paste the key there), e.g.\n"
        '  { user(id: "u0000001") { id city lifecycle tags { tagId weight source } '
        "friends(first: 5) { totalCount edges { node { id city } } } } }",
        highlight=False,
        soft_wrap=True,
    )
    base = f"http://{settings.api_host}:{settings.api_port}"
    event = (  # a profile update (a change in the log, a message to the subscription) and an order
        '{"batch": [{"messageId": "demo-1", "type": "identify", "userId": "u0000001", '
        '"traits": {"city": "Hangzhou"}}, {"messageId": "demo-2", "type": "track", '
        '"event": "Order Completed", "userId": "u0000001", '
        '"properties": {"order_id": "demo-o1", "products": [{"sku": "P00001"}]}}]}'
    )
    console.print(
        "Send events (folded within moments: rule tags, saved audiences, the change log), then see what "
        f"it changed (docs/realtime.md):\n  curl -s {base}/v1/batch -H 'content-type: application/json' \\\n"
        f"    -H 'Authorization: Bearer {token}' \\\n    -d '{event}'\n"
        "  persona changes list --user u0000001",
        highlight=False,
        soft_wrap=True,
    )
    watch = '{"query": "subscription { profileChanged(userId: \\"u0000001\\") { cursor subject change } }"}'
    console.print(
        "Or watch the user's profile change as the events are folded (a GraphQL subscription over "
        f"server-sent events; start it first, in another terminal):\n  curl -N {base}/graphql/stream "
        "-H 'content-type: application/json' -H 'accept: text/event-stream' \\\n"
        f"    -H 'Authorization: Bearer {token}' \\\n    -d '{watch}'",
        highlight=False,
        soft_wrap=True,
    )
    if serve_api:
        serve(host=None, port=None, workers=None)


def main() -> None:
    """Console entry point: our errors become one clear line, not a stack trace."""
    try:
        app()
    except PersonaGraphError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except ValidationError as exc:  # settings from the environment
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        console.print(f"[red]error:[/] invalid setting: {problems}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except SettingsError as exc:
        console.print(f"[red]error:[/] invalid setting: {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

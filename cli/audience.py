"""`persona audience`: count, list, export, save and break down audiences defined in JSON files; push saved
audiences to ad platforms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from personagraph.cli.context import open_store, operator
from personagraph.cli.output import CliConsole, examples
from personagraph.graph.audiences.model import BREAKDOWN_FIELDS, AudienceDefinitionError
from personagraph.graph.kinds import PURPOSES, Purpose
from personagraph.graph.store import GraphStore

audience_app = typer.Typer(
    help="Count, list, export, save and break down audiences; push saved ones to ad platforms.",
    no_args_is_help=True,
    epilog=examples(
        "persona audience count vip.json",
        "persona audience list vip.json --first 100",
        "persona audience export vip.json members.csv --purpose marketing",
        'persona audience save vips vip.json --name "VIPs" --owner ana',
        "persona audience breakdown vip.json --by city",
        "persona audience push --audience vips --platform google --out uploads/ --diff",
        'vip.json: {"tag": {"tagId": "high-value"}} (docs/audiences.md)',
    ),
)
console = CliConsole(stderr=True)

DefinitionFile = Annotated[Path, typer.Argument(help="Audience definition (JSON, see docs/audiences.md).")]
PurposeOption = Annotated[str, typer.Option(help=f"Whose consent applies: {', '.join(PURPOSES)}.")]


def _definition(path: Path) -> Any:
    """The parsed JSON of a definition file (validated by the service)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AudienceDefinitionError([f"{path}: cannot read ({exc.strerror})"]) from exc
    except json.JSONDecodeError as exc:
        raise AudienceDefinitionError([f"{path}: not valid JSON ({exc})"]) from exc


def _warn(store: GraphStore, definition: Any) -> None:
    """Say on stderr what in the definition matches no one (an unknown tag id): the answer stands."""
    from personagraph.graph.audiences.service import definition_warnings

    for warning in definition_warnings(store, definition):
        console.print(f"warning: {warning}", highlight=False, markup=False)


def _purpose(purpose: str) -> Purpose:
    if purpose not in PURPOSES:
        raise typer.BadParameter(f"{purpose!r} is not one of {', '.join(PURPOSES)}", param_hint="--purpose")
    return Purpose(purpose)


@audience_app.command("count")
def count_cmd(definition: DefinitionFile, purpose: PurposeOption = Purpose.MARKETING.value) -> None:
    """How many users the audience reaches for a purpose, and how many consent leaves out."""
    from personagraph.graph.audiences.service import count_audience

    with open_store() as store:
        parsed = _definition(definition)
        counted = count_audience(store, parsed, purpose=_purpose(purpose))
        _warn(store, parsed)
    typer.echo(f"{counted.count:,} users ({counted.excluded_by_consent:,} left out by consent for {purpose})")


@audience_app.command("list")
def list_cmd(
    definition: DefinitionFile,
    first: Annotated[int, typer.Option(help="Members per page (1-1000).")] = 50,
    after: Annotated[str | None, typer.Option(help="Cursor printed by the previous page.")] = None,
    purpose: PurposeOption = Purpose.MARKETING.value,
) -> None:
    """One page of member ids in userId order; the last line gives the cursor of the next page."""
    from personagraph.graph.audiences.service import audience_members

    with open_store() as store:
        parsed = _definition(definition)
        page = audience_members(store, parsed, first=first, after=after, purpose=_purpose(purpose))
        _warn(store, parsed)
    for user in page.users:
        typer.echo(user)
    if page.has_next:
        typer.echo(f"next page: --after {page.end_cursor}")


@audience_app.command("export")
def export_cmd(
    definition: DefinitionFile,
    out: Annotated[Path, typer.Argument(help="CSV file to write (user_id per line).")],
    purpose: PurposeOption = Purpose.MARKETING.value,
    actor: Annotated[
        str | None, typer.Option(help="Who exports, for the audit log (default: the OS user).")
    ] = None,
) -> None:
    """Write every member to a CSV file, streaming page by page; the audit log gets an `export` entry
    (who, how many rows, the purpose and file: never the members)."""
    from personagraph.graph.audiences.service import export_csv
    from personagraph.graph.audit import AuditEntry, AuditLog
    from personagraph.graph.settings import get_settings

    settings = get_settings()
    with open_store(settings) as store:
        parsed = _definition(definition)
        rows = export_csv(store, parsed, out, purpose=_purpose(purpose))
        _warn(store, parsed)
    AuditLog(settings.audit_log_path).record(
        AuditEntry(
            actor=operator(actor),
            role="admin",  # the CLI talks to Neo4j directly: whoever runs it can read everything
            action="export",
            what="persona audience export",
            rows=rows,
            details={"purpose": purpose, "file": str(out)},
        )
    )
    console.print(f"{rows:,} members written to {out}", highlight=False)


@audience_app.command("save")
def save_cmd(
    audience_id: Annotated[str, typer.Argument(help="Id of the saved audience (replaced if it exists).")],
    definition: DefinitionFile,
    name: Annotated[str, typer.Option(help="Display name.")],
    owner: Annotated[str, typer.Option(help="Who owns it.")],
    purpose: PurposeOption = Purpose.MARKETING.value,
) -> None:
    """Save a definition, count it and record its members (IN_AUDIENCE)."""
    from personagraph.graph.audiences.service import save_audience

    with open_store() as store:
        parsed = _definition(definition)
        saved = save_audience(
            store,
            audience_id=audience_id,
            name=name,
            definition=parsed,
            owner=owner,
            purpose=_purpose(purpose),
        )
        _warn(store, parsed)
    typer.echo(f"saved {saved.audience_id} ({saved.name}, owner {saved.owner}): {saved.counts[-1]:,} members")


@audience_app.command("breakdown")
def breakdown_cmd(
    definition: DefinitionFile,
    by: Annotated[str, typer.Option(help=f"One of: {', '.join(BREAKDOWN_FIELDS)}.")],
    purpose: PurposeOption = "analysis",
) -> None:
    """Members per value of one user field, largest group first."""
    from personagraph.graph.audiences.service import breakdown

    with open_store() as store:
        parsed = _definition(definition)
        rows = breakdown(store, parsed, by=by, purpose=_purpose(purpose))
        _warn(store, parsed)
    table = Table(title=f"audience by {by}")
    table.add_column(by)
    table.add_column("users", justify="right")
    for value, users in rows:
        table.add_row("(none)" if value is None else str(value), f"{users:,}")
    CliConsole().print(table)  # data: stdout


@audience_app.command("push")
def push_cmd(
    audience: Annotated[
        str, typer.Option("--audience", help="The saved audience's id (persona audience save).")
    ],
    platform: Annotated[
        str,
        typer.Option(
            "--platform",
            help="google (Customer Match CSV), meta (custom audience CSV), tencent (腾讯广告 one hash per "
            "line per id type, zipped) or oceanengine (巨量引擎 package: id-type files in one zip).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the upload files into.")],
    diff: Annotated[
        bool,
        typer.Option(
            "--diff",
            help="Files of the keys to add and to remove since the last push of this audience there.",
        ),
    ] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who pushes, for the audit log (default: the OS user).")
    ] = None,
) -> None:
    """Write a saved audience's upload files for an ad platform: only members with advertising consent,
    as the match keys derived at ingest (docs/activation.md). Refused under the k-anonymity floor
    (PERSONA_PRIVACY_K); recorded for the next --diff and audited (a `push` entry: who, how many, the
    files; never the members)."""
    from personagraph.graph.activation.push import platform_of, push_audience
    from personagraph.graph.audit import AuditLog
    from personagraph.graph.settings import get_settings

    settings = get_settings()
    chosen = platform_of(platform)
    with open_store(settings) as store:
        report = push_audience(
            store,
            audience_id=audience,
            platform=chosen,
            out=out,
            diff=diff,
            k=settings.privacy_k,
            actor=operator(actor),
            role="admin",  # the CLI talks to Neo4j directly: whoever runs it can read everything
            audit=AuditLog(settings.audit_log_path),
            progress=lambda n: console.print(f"read {n:,} members", highlight=False, markup=False),
        )
    for written in report.files:
        typer.echo(f"{written.path}\t{written.rows}")  # data: stdout, one file per line
    console.print(report.summary(), highlight=False, markup=False)

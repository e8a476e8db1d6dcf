"""`persona forget` and `persona consent`: erase a user for good, record and show consent statements."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from personagraph.cli.context import open_store, operator, parse_time
from personagraph.cli.output import CliConsole, examples
from personagraph.graph.audit import AuditEntry, AuditLog
from personagraph.graph.kinds import CONSENT_PURPOSES, OLD_PURPOSE, SURVEY_PURPOSE
from personagraph.graph.privacy.consent import PrivacyInputError, consent_history, set_consent
from personagraph.graph.privacy.forget import forget_user, suppression_key
from personagraph.graph.secrets import identity_key
from personagraph.graph.settings import get_settings
from personagraph.graph.tags.engine import refresh_tags
from personagraph.graph.tags.rules.base import SURVEY_INPUTS

console = CliConsole(stderr=True)  # reports and messages
out = CliConsole()  # data: `consent history` prints to stdout
consent_app = typer.Typer(
    help="Record a user's consent statements and show their history (docs/privacy-data.md).",
    no_args_is_help=True,
    epilog=examples(
        "persona consent set u0000001 --purpose marketing --revoked --source crm",
        "persona consent set u0000001 --purpose personalised --granted --source app",
        "persona consent history u0000001",
    ),
)
FORGET_EXAMPLES = examples(
    "persona forget u0000001        # asks before it deletes",
    "persona forget u0000001 --yes --actor dpo@example.com",
)


def forget_cmd(
    user_id: Annotated[str, typer.Argument(help="The id of the user who asked to be forgotten.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    actor: Annotated[
        str | None, typer.Option(help="Who carries the erasure out, for the audit log (default: OS user).")
    ] = None,
) -> None:
    """Forget a user for good (GDPR erasure, PIPL deletion); the audit log gets a hash, never the id.

    Deletes the user with their identities, behaviour, tags, ties, consent history and audience
    memberships; keeps their orders' revenue, anonymised; marks their neighbours, community and persona
    stale; and refuses them in every later load or write (suppression list). Cannot be undone. Safe to
    repeat: a user already forgotten gives a report of zeros.
    """
    settings = get_settings()
    who = operator(actor)
    key = suppression_key(settings)
    identities = identity_key(settings)  # to find search terms naming them by email, phone, ...
    if not yes:
        typer.confirm(
            f"Forget user {user_id!r} for good? This deletes their data and cannot be undone", abort=True
        )
    with open_store() as store:
        report = forget_user(store, user_id=user_id, key=key, actor=who, identity_key=identities)
    done = bool(report.removed)
    AuditLog(settings.audit_log_path).record(
        AuditEntry(
            actor=who,
            role="admin",
            action="forget",
            what="persona forget",
            rows=1 if done else 0,
            details={**report.as_dict(), "already_forgotten": not done},
        )
    )
    table = Table(title=f"forget (subject {report.subject[:16]}...)")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, count in report.removed.items():
        table.add_row(f"removed {what}", f"{count:,}")
    table.add_row("anonymised orders", f"{report.anonymised_orders:,}")
    table.add_row("stale neighbours", f"{report.stale_neighbours:,}")
    table.add_row("stale communities / personas", f"{report.stale_groups:,}")
    console.print(table)
    if not done:
        console.print("already forgotten: nothing left to remove", highlight=False)


@consent_app.command("set")
def consent_set_cmd(
    user_id: Annotated[str, typer.Argument(help="The user.")],
    purpose: Annotated[
        str,
        typer.Option(
            help=f"One of: {', '.join(CONSENT_PURPOSES)} ('{OLD_PURPOSE}', the old name, still works)."
        ),
    ],
    granted: Annotated[bool, typer.Option("--granted/--revoked", help="Consent given, or withdrawn.")],
    source: Annotated[str, typer.Option(help="Where the statement was made, e.g. 'preference centre'.")],
    at: Annotated[
        str | None, typer.Option(help="When it was made, ISO-8601 (default now; no zone means UTC).")
    ] = None,
) -> None:
    """Record one consent statement and apply it (marketingConsent / personalizationOptOut), then refresh
    the user's saved-audience membership.

    Every statement is kept in the user's history, even one that repeats the current value. One older
    than the statement that set the flag (--at in the past) is recorded but not applied.
    """
    moment = parse_time(at, "at", PrivacyInputError) if at else None
    with open_store() as store:
        change = set_consent(
            store, user_id=user_id, purpose=purpose, granted=granted, source=source, at=moment
        )
        if change.purpose == SURVEY_PURPOSE and change.applied:  # the survey rules judge the user again
            refresh_tags(store, user_ids=[change.user_id], changed=SURVEY_INPUTS, known_users=True)
    verb = "granted" if change.granted else "revoked"
    when = change.at.isoformat(timespec="seconds")
    console.print(f"{change.user_id}: {change.purpose} {verb} at {when} ({change.source})", highlight=False)
    if not change.applied:
        console.print("recorded, not applied: a newer statement set this flag and stands", highlight=False)


@consent_app.command("history")
def consent_history_cmd(user_id: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Show a user's consent statements, newest first."""
    with open_store() as store:
        changes = consent_history(store, user_ids=[user_id])[user_id]
    if not changes:
        console.print(f"{user_id}: no consent statements recorded", highlight=False)
        return
    table = Table(title=f"consent history of {user_id}")
    flagged = not all(c.applied for c in changes)  # an 'applied' column only when a statement was not
    for column in ("at", "purpose", "granted", *(("applied",) if flagged else ())):
        table.add_column(column, no_wrap=True)
    table.add_column("source", overflow="fold")
    for c in changes:
        applied = ("yes" if c.applied else "no",) if flagged else ()
        table.add_row(
            c.at.isoformat(timespec="seconds"), c.purpose, "yes" if c.granted else "no", *applied, c.source
        )
    out.print(table)

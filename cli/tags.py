"""`persona tags`: refresh rule tags, list the taxonomy, define tags, tag and untag users by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from personagraph.cli.context import open_store, parse_time
from personagraph.cli.output import CliConsole, examples
from personagraph.graph.as_of import AsOf, resolve_as_of
from personagraph.graph.store import GraphStore
from personagraph.graph.tags import (
    RefreshReport,
    list_tags,
    load_rules,
    refresh_tags,
    tag_user,
    untag_user,
    upsert_tag,
)
from personagraph.graph.tags.engine import describe
from personagraph.graph.tags.taxonomy import TagInputError

console = CliConsole(stderr=True)  # progress and reports
out = CliConsole()  # data: `tags list` and `tags rules` print to stdout
tags_app = typer.Typer(
    help="Tag taxonomy, manual tags and rule tags (rules/tags.yaml).",
    no_args_is_help=True,
    epilog=examples(
        "persona tags refresh                      # rule tags, every user",
        "persona tags rules --rules my-rules.yaml  # check a rule file",
        "persona tags list --tier behavior",
        'persona tags add vip --tier basic --name "VIP" --synonym "very important"',
        "persona tags tag u0000001 vip --expires 2030-01-01",
        "persona tags untag u0000001 vip",
    ),
)

RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="Rule file (default rules/tags.yaml).", dir_okay=False)
]


def as_of_option(store: GraphStore, value: str | None) -> datetime | None:
    """--as-of: an ISO time, 'now', or 'latest' (the graph's data time); None leaves the command's default."""
    if value is None:
        return None
    if value == "now":
        return datetime.now(UTC)
    if value == "latest":
        return resolve_as_of(store).at
    return parse_time(value, "--as-of", TagInputError)


@tags_app.command("refresh")
def refresh(
    rules: RulesOption = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO time rules are judged at, 'latest' (the default: the latest order or behaviour "
            "event in the graph, as lifecycle tiers) or 'now'.",
        ),
    ] = None,
    user: Annotated[list[str] | None, typer.Option("--user", help="Only these users (repeatable).")] = None,
    batch_size: Annotated[int, typer.Option(help="Users per batch.", min=1)] = 1000,
) -> None:
    """Recompute every rule tag from the rule file, for all users (or --user ones)."""
    rule_set = load_rules(rules)
    with open_store() as store:
        when = as_of_option(store, as_of)
        total = None if user else int(store.read("profiles/read/count_users")[0]["users"])
        columns = (TextColumn("users"), BarColumn(), TextColumn("{task.completed:,.0f}"), TimeElapsedColumn())
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            task = progress.add_task("refresh", total=total or len(user or []))
            report = refresh_tags(
                store,
                rules=rule_set,
                user_ids=user or None,
                as_of=when,
                batch_size=batch_size,
                progress=lambda done: progress.update(task, completed=done),
            )
    _print_refresh(report)


def _print_refresh(report: RefreshReport) -> None:
    table = Table(title=f"tags refresh as of {AsOf(report.as_of, report.as_of_basis)}")
    for column in ("rule", "kind", "tag", "matched", "added", "removed", "updated"):
        table.add_column(
            column, justify="right" if column in ("matched", "added", "removed", "updated") else "left"
        )
    for r in report.rules:
        note = " (skipped)" if r.skipped else ""
        table.add_row(
            r.rule_id + note,
            r.kind,
            r.tag_id,
            f"{r.matched:,}",
            f"{r.added:,}",
            f"{r.removed:,}",
            f"{r.updated:,}",
        )
    console.print(table)
    stale = (
        f"; {report.stale_removed:,} tags of rules no longer in the file removed"
        if report.stale_removed
        else ""
    )
    for r in report.skipped:  # a rule whose input is missing holds for no one: say why
        console.print(f"skipped {r.rule_id} ({r.kind}): {r.reason}", highlight=False, markup=False)
    console.print(f"{report.users:,} users in {report.seconds:.1f} s{stale}", highlight=False)
    console.print(f"as of {AsOf(report.as_of, report.as_of_basis)}", highlight=False)


@tags_app.command("rules")
def show_rules(rules: RulesOption = None) -> None:
    """Validate the rule file and show its rules."""
    rule_set = load_rules(rules)
    table = Table(title=rule_set.source)
    for column in ("rule", "kind", "tag", "tier", "ttl days", "params"):
        table.add_column(column)
    for r in describe(rule_set):
        params = ", ".join(f"{k}={v}" for k, v in r["params"].items() if v is not None)
        table.add_row(r["rule"], r["kind"], r["tag"], r["tier"], str(r["ttl_days"] or "-"), params)
    out.print(table)


@tags_app.command("list")
def list_cmd(
    tier: Annotated[str | None, typer.Option(help="basic, behavior or preference.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Count holders at this ISO time, 'latest' or 'now'.")
    ] = None,
) -> None:
    """Every tag with its tier, parent, synonyms and how many users hold it (by source; expired apart)."""
    with open_store() as store:
        tags = list_tags(store, tier=tier, as_of=as_of_option(store, as_of))
    table = Table(title="tags")
    for column in (
        "tag",
        "name",
        "tier",
        "parent",
        "synonyms",
        "users",
        "manual",
        "rule",
        "model",
        "expired",
    ):
        table.add_column(
            column, justify="right" if column in ("users", "manual", "rule", "model", "expired") else "left"
        )
    for t in tags:
        table.add_row(
            t.tag_id,
            t.name,
            t.tier,
            t.parent_id or "",
            ", ".join(t.synonyms),
            f"{t.users:,}",
            f"{t.manual:,}",
            f"{t.rule:,}",
            f"{t.model:,}",
            f"{t.expired:,}",
        )
    out.print(table)


@tags_app.command("add")
def add(
    tag_id: Annotated[str, typer.Argument(help="The tag's id.")],
    tier: Annotated[str, typer.Option(help="basic, behavior or preference.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    parent: Annotated[str | None, typer.Option(help="Parent tag id.")] = None,
    synonym: Annotated[list[str] | None, typer.Option("--synonym", help="Another name (repeatable).")] = None,
    description: Annotated[str | None, typer.Option(help="What the tag means.")] = None,
) -> None:
    """Create a tag, or replace its definition."""
    with open_store() as store:
        tag = upsert_tag(
            store,
            tag_id=tag_id,
            name=name,
            tier=tier,
            parent_id=parent,
            synonyms=synonym or (),
            description=description,
        )
    console.print(f"tag {tag.tag_id} ({tag.tier}) saved", highlight=False)


@tags_app.command("tag")
def tag_cmd(
    user_id: Annotated[str, typer.Argument(help="The user.")],
    tag: Annotated[str, typer.Argument(help="Tag id or synonym.")],
    weight: Annotated[float, typer.Option(help="0 to 1.")] = 1.0,
    expires: Annotated[str | None, typer.Option(help="ISO time the tag expires.")] = None,
) -> None:
    """Tag a user by hand (source manual; rules never change it)."""
    expires_at = parse_time(expires, "--expires", TagInputError) if expires else None
    with open_store() as store:
        change = tag_user(store, user_id=user_id, tag_id=tag, weight=weight, expires_at=expires_at)
    verb = "tagged" if change.created else "re-tagged"
    console.print(f"{change.user_id} {verb} {change.tag_id}", highlight=False)


@tags_app.command("untag")
def untag_cmd(
    user_id: Annotated[str, typer.Argument(help="The user.")],
    tag: Annotated[str, typer.Argument(help="Tag id or synonym.")],
) -> None:
    """Take a tag from a user, whatever its source."""
    with open_store() as store:
        change = untag_user(store, user_id=user_id, tag_id=tag)
    if change.removed:
        console.print(
            f"{change.user_id}: {change.tag_id} removed ({', '.join(change.removed)})", highlight=False
        )
    else:
        console.print(f"{change.user_id} did not hold {change.tag_id}", highlight=False)

"""`persona events`: the event log the collector appends to, and the worker that folds it into the graph;
`persona consume`: the same folding from a Kafka topic; `persona changes`: the change log they write
(docs/realtime.md)."""

from __future__ import annotations

import json
import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from personagraph.cli.context import open_store
from personagraph.cli.output import CliConsole, examples
from personagraph.graph.changes.log import changes_after, latest_cursor
from personagraph.graph.events.fold import fold_cursor
from personagraph.graph.events.journal import FoldLock, open_journal
from personagraph.graph.events.kafka import KafkaFolder, dead_letter_topic, ensure_topics
from personagraph.graph.events.worker import FoldingWorker
from personagraph.graph.privacy.forget import suppression_key
from personagraph.graph.settings import get_settings

console = CliConsole(stderr=True)
events_app = typer.Typer(
    help="The event log (POST /v1/batch, recordEvent) and the worker folding it into the graph.",
    no_args_is_help=True,
    epilog=examples(
        "persona events status          # log size, fold cursor, lag, rejected entries",
        "persona events fold            # fold in the foreground until Ctrl-C (persona serve folds too)",
        "persona events fold --once     # fold what is waiting, then exit",
    ),
)
changes_app = typer.Typer(
    help="The change log: tags, audience membership and profile changes, in commit order.",
    no_args_is_help=True,
    epilog=examples(
        "persona changes list --after 0 --first 20",
        "persona changes list --user u42 --json",
    ),
)


@events_app.command("status")
def status() -> None:
    """How much the log holds, how far it is folded and how far behind the worker is."""
    settings = get_settings()
    journal = open_journal(settings)
    try:
        last = journal.last_offset()
        with open_store(settings) as store:
            cursor = fold_cursor(store, journal.log_id)
        table = Table("log", "file", "last offset", "folded through", "waiting")
        table.add_row(
            journal.log_id, str(settings.event_log_file), str(last), str(cursor), str(last - cursor)
        )
        console.print(table)
    finally:
        journal.close()


@events_app.command("fold")
def fold_cmd(
    once: Annotated[bool, typer.Option("--once", help="Fold what is waiting, then exit.")] = False,
) -> None:
    """Fold the event log into the graph (one worker per log at a time: waits while another holds it)."""
    settings = get_settings()
    journal = open_journal(settings)
    try:
        with open_store(settings) as store:
            worker = FoldingWorker(
                store,
                journal,
                settings,
                suppression_key=suppression_key(settings),
                lock=FoldLock(settings.event_log_file),
            )
            if once:
                _fold_waiting(worker)
                return
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            console.print(f"folding {settings.event_log_file} (Ctrl-C stops)", highlight=False)
            worker.run(stop)
            console.print(f"folded {worker.stats.folded}, rejected {worker.stats.rejected}", highlight=False)
    finally:
        journal.close()


def consume(
    once: Annotated[
        bool, typer.Option("--once", help="Fold what is waiting for this member, then leave the group.")
    ] = False,
) -> None:
    """Fold the Kafka topic (PERSONA_KAFKA_TOPIC) into the graph as one member of the consumer group
    PERSONA_KAFKA_GROUP: start several and they share the partitions. Offsets are committed after the
    fold's transaction; messages that cannot be folded go to <topic>.dlq with their reason. Ctrl-C stops."""
    settings = get_settings()
    if settings.kafka_bootstrap is None:
        console.print("[red]PERSONA_KAFKA_BOOTSTRAP is not set[/red] (host:port of a Kafka broker)")
        raise typer.Exit(2)
    ensure_topics(settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_partitions)
    with open_store(settings) as store:
        folder = KafkaFolder(store, settings, suppression_key=suppression_key(settings))
        if once:
            try:
                folder.consume_waiting()
            finally:
                folder.close()
        else:
            stop = threading.Event()
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            console.print(
                f"consuming {settings.kafka_topic} from {settings.kafka_bootstrap} in group "
                f"{settings.kafka_group}; dead letters to {dead_letter_topic(settings.kafka_topic)} "
                "(Ctrl-C stops)",
                highlight=False,
            )
            folder.run(stop)
        stats = folder.stats
        console.print(f"folded {stats.folded}, dead-lettered {stats.rejected}", highlight=False)


def _fold_waiting(worker: FoldingWorker) -> None:
    lock = worker.lock
    if lock is not None and not lock.try_acquire():
        console.print("[red]another worker is folding this log[/red] (persona serve?); nothing done")
        raise typer.Exit(1)
    try:
        while worker.fold_once().outcomes:
            pass
    finally:
        if lock is not None:
            lock.release()
    console.print(f"folded {worker.stats.folded}, rejected {worker.stats.rejected}", highlight=False)


@changes_app.command("list")
def list_changes(
    after: Annotated[int, typer.Option(help="Changes after this cursor (0: from the oldest kept).")] = 0,
    user: Annotated[list[str] | None, typer.Option(help="Only this user's (repeatable).")] = None,
    first: Annotated[int, typer.Option(help="At most this many.", min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
) -> None:
    """Changes in cursor order, with their cause."""
    with open_store() as store:
        found = changes_after(store, after, user_ids=user or None, limit=first)
        latest = latest_cursor(store)
    if as_json:
        for c in found:
            typer.echo(
                json.dumps(
                    {
                        "cursor": c.seq,
                        "at": c.at.isoformat(),
                        "userId": c.user_id,
                        "kind": c.kind,
                        "subject": c.subject,
                        "change": c.change,
                        "cause": c.cause,
                        "causeIds": list(c.cause_ids),
                        "ruleId": c.rule_id,
                    }
                )
            )
        return
    table = Table("cursor", "at", "user", "kind", "subject", "change", "cause")
    for c in found:
        table.add_row(
            str(c.seq), c.at.isoformat(timespec="seconds"), c.user_id, c.kind, c.subject, c.change, c.cause
        )
    console.print(table)
    console.print(f"latest cursor: {latest}", highlight=False)


__all__ = ["changes_app", "consume", "events_app"]

"""`persona webhooks`: register webhooks for the change log, list them and their deliveries, re-send dead
letters, run the dispatcher (docs/realtime.md, "Webhooks"). An operator's commands: they act as admin."""

from __future__ import annotations

import json
import signal
import threading
from typing import Annotated, Any

import typer
from rich.table import Table

from personagraph.cli.context import open_store, operator
from personagraph.cli.output import CliConsole, examples
from personagraph.graph.audit import AuditEntry, AuditLog
from personagraph.graph.file_lock import FileLock
from personagraph.graph.settings import get_settings
from personagraph.graph.webhooks import registry
from personagraph.graph.webhooks.dispatcher import Dispatcher, lock_path
from personagraph.graph.webhooks.model import EVENT_TYPES, Delivery

console = CliConsole(stderr=True)  # reports and messages
out = CliConsole()  # data: tables on stdout
webhooks_app = typer.Typer(
    help="Webhooks: the change log POSTed to your URLs, signed per the Standard Webhooks spec.",
    no_args_is_help=True,
    epilog=examples(
        "persona webhooks add --url https://crm.example.com/hooks --events tag.added,audience.entered",
        "persona webhooks add --url https://x.example.com/h --events audience.entered --audience vip",
        "persona webhooks list",
        "persona webhooks deliveries --dead",
        "persona webhooks retry msg_wh_0123abcd_42",
        "persona webhooks run            # dispatch in the foreground (persona serve dispatches too)",
    ),
)
ActorOption = Annotated[
    str | None, typer.Option(help="Who does it, for the audit log (default: the OS user).")
]


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Option(help="Where to POST: an http or https URL.")],
    events: Annotated[str, typer.Option(help=f"Comma-separated, of: {', '.join(EVENT_TYPES)}.")],
    audience: Annotated[
        list[str] | None, typer.Option(help="Only this audience's events (repeatable).")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only this tag's events (repeatable).")] = None,
    actor: ActorOption = None,
) -> None:
    """Register a webhook; prints its id, then its signing secret, once (the secret is not stored)."""
    settings = get_settings()
    who = operator(actor)
    with open_store(settings) as store:
        done = registry.register_webhook(
            store,
            settings,
            url=url,
            events=events.split(","),
            audience_ids=audience or (),
            tag_ids=tag or (),
            created_by=who,
        )
    _audit(who, "persona webhooks add", webhookId=done.webhook.webhook_id)
    console.print(
        f"registered {done.webhook.webhook_id} for {', '.join(done.webhook.events)} from cursor "
        f"{done.webhook.cursor}; its signing secret follows, shown this once:",
        highlight=False,
    )
    typer.echo(done.webhook.webhook_id)
    typer.echo(done.secret)


@webhooks_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False) -> None:
    """Registered webhooks with their filters and cursors (never their secrets)."""
    with open_store() as store:
        hooks = registry.list_webhooks(store)
    if as_json:
        for w in hooks:
            typer.echo(
                json.dumps(
                    {
                        "id": w.webhook_id,
                        "url": w.url,
                        "events": list(w.events),
                        "audienceIds": list(w.audience_ids),
                        "tagIds": list(w.tag_ids),
                        "cursor": w.cursor,
                        "retrying": w.retrying.delivery_id if w.retrying else None,
                        "createdAt": w.created_at.isoformat(),
                        "createdBy": w.created_by,
                    }
                )
            )
        return
    table = Table("id", "url", "events", "audiences", "tags", "cursor", "retrying", "created")
    for w in hooks:
        table.add_row(
            w.webhook_id,
            w.url,
            ", ".join(w.events),
            ", ".join(w.audience_ids) or "all",
            ", ".join(w.tag_ids) or "all",
            str(w.cursor),
            w.retrying.delivery_id if w.retrying else "",
            w.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@webhooks_app.command("remove")
def remove(
    webhook_id: Annotated[str, typer.Argument(help="The webhook's id (persona webhooks list).")],
    actor: ActorOption = None,
) -> None:
    """Remove a webhook and its deliveries."""
    with open_store() as store:
        removed = registry.remove_webhook(store, webhook_id)
    if not removed:
        console.print(f"[red]no webhook {webhook_id}[/red]", highlight=False)
        raise typer.Exit(1)
    _audit(operator(actor), "persona webhooks remove", webhookId=webhook_id)
    console.print(f"removed {webhook_id}", highlight=False)


@webhooks_app.command("deliveries")
def deliveries_cmd(
    webhook: Annotated[str | None, typer.Option(help="Only this webhook's.")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Dead letters only.")] = False,
    first: Annotated[int, typer.Option(help="At most this many.", min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines on stdout.")] = False,
) -> None:
    """Deliveries, last updated first, with their status, attempts and last error."""
    with open_store() as store:
        found = registry.deliveries(store, webhook_id=webhook, status="dead" if dead else None, first=first)
    if as_json:
        for d in found:
            typer.echo(json.dumps(_delivery_json(d)))
        return
    table = Table(
        "id", "webhook", "cursor", "type", "user", "status", "attempts", "last status", "last error"
    )
    for d in found:
        table.add_row(
            d.delivery_id,
            d.webhook_id,
            str(d.seq),
            d.type,
            d.user_id,
            d.status,
            str(d.attempts),
            "" if d.last_status is None else str(d.last_status),
            d.last_error or "",
        )
    out.print(table)


@webhooks_app.command("retry")
def retry(
    delivery_id: Annotated[
        str, typer.Argument(help="A dead letter's id (persona webhooks deliveries --dead).")
    ],
    actor: ActorOption = None,
) -> None:
    """Send a dead letter again, now, once; exit 1 when it failed again (it stays a dead letter)."""
    settings = get_settings()
    with open_store(settings) as store:
        done = registry.retry_delivery(store, settings, delivery_id)
    _audit(operator(actor), "persona webhooks retry", deliveryId=delivery_id)
    if done.status != "delivered":
        console.print(f"[red]still dead[/red]: {done.last_error}", highlight=False)
        raise typer.Exit(1)
    console.print(f"delivered {delivery_id} (HTTP {done.last_status})", highlight=False)


@webhooks_app.command("run")
def run(once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False) -> None:
    """Dispatch in the foreground until Ctrl-C (one dispatcher per machine: waits while another runs)."""
    settings = get_settings()
    lock = FileLock(lock_path(settings))
    with open_store(settings) as store:
        dispatcher = Dispatcher(store, settings, lock=lock)
        try:
            if once:
                if not lock.try_acquire():
                    console.print("[red]another dispatcher runs on this machine[/red] (persona serve?)")
                    raise typer.Exit(1)
                try:
                    dispatcher.dispatch_once()
                finally:
                    lock.release()
            else:
                stop = threading.Event()
                signal.signal(signal.SIGINT, lambda *_: stop.set())
                signal.signal(signal.SIGTERM, lambda *_: stop.set())
                console.print("dispatching webhooks (Ctrl-C stops)")
                dispatcher.run(stop)
        finally:
            dispatcher.close()
    stats = dispatcher.stats
    console.print(
        f"delivered {stats.delivered}, failed attempts {stats.failed_attempts}, dead-lettered {stats.dead}",
        highlight=False,
    )


def _delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.delivery_id,
        "webhookId": d.webhook_id,
        "cursor": d.seq,
        "type": d.type,
        "userId": d.user_id,
        "status": d.status,
        "attempts": d.attempts,
        "lastStatus": d.last_status,
        "lastError": d.last_error,
        "nextAttemptAt": d.next_at.isoformat() if d.next_at else None,
        "updatedAt": d.updated_at.isoformat() if d.updated_at else None,
    }


def _audit(actor: str, what: str, **details: str) -> None:
    """The command's audit entry (ids only: never the URL, which may carry a token, nor the secret)."""
    AuditLog(get_settings().audit_log_path).record(AuditEntry(actor, "admin", "mutation", what, 1, details))


__all__ = ["webhooks_app"]

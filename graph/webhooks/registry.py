"""Registering, listing and removing webhooks, reading their deliveries, re-sending a dead letter.

Admins only (api/policy.py for GraphQL; the CLI is an operator's). A webhook starts at the latest change
of the log: it is sent what changes after it was registered. Its signing secret is shown once, at
registration, and never stored (graph/webhooks/signing.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.webhooks.model import (
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookError,
    checked_events,
)
from personagraph.graph.webhooks.send import http_client, send
from personagraph.graph.webhooks.signing import secret_bytes, shown_secret
from personagraph.graph.webhooks.targets import checked_url

MAX_FILTER_IDS = 100


@dataclass(frozen=True)
class Registered:
    """A new webhook and its signing secret (``whsec_...``), which is shown this once."""

    webhook: Webhook
    secret: str


def register_webhook(
    store: GraphStore,
    settings: Settings,
    *,
    url: str,
    events: Sequence[str],
    audience_ids: Sequence[str] = (),
    tag_ids: Sequence[str] = (),
    created_by: str,
) -> Registered:
    """Register a webhook after checking its URL (graph/webhooks/targets.py) and event types; WebhookError
    naming the argument when one is wrong."""
    checked = {
        "url": checked_url(url, settings),
        "events": list(checked_events(events)),
        "audienceIds": _ids(audience_ids, "audienceIds"),
        "tagIds": _ids(tag_ids, "tagIds"),
    }
    webhook_id = "wh_" + secrets.token_hex(8)
    found = store.write_returning(
        "webhooks/write/webhook_create",
        webhookId=webhook_id,
        createdBy=created_by,
        at=datetime.now(UTC),
        **checked,
    )
    return Registered(Webhook.of(found[0]["webhook"]), shown_secret(secret_bytes(settings, webhook_id)))


def list_webhooks(store: GraphStore, webhook_id: str | None = None) -> list[Webhook]:
    """Every webhook (or the one asked for), oldest first, each with the delivery it waits to retry."""
    records = store.read("webhooks/read/webhooks_list", webhookId=webhook_id)
    return [Webhook.of(r["webhook"], r["retrying"]) for r in records]


def remove_webhook(store: GraphStore, webhook_id: str) -> bool:
    """Remove a webhook and its deliveries; False when there was none with this id."""
    found = store.write_returning("webhooks/write/webhook_remove", webhookId=webhook_id)
    return bool(found[0]["removed"])


def deliveries(
    store: GraphStore,
    *,
    webhook_id: str | None = None,
    status: DeliveryStatus | None = None,
    delivery_id: str | None = None,
    first: int = 50,
) -> list[Delivery]:
    """Deliveries, last updated first: of one webhook or all, in one status or any."""
    if not 1 <= first <= 1000:
        raise WebhookError(f"first: expected 1 to 1000, got {first}")
    records = store.read(
        "webhooks/read/webhook_deliveries",
        webhookId=webhook_id,
        status=status,
        deliveryId=delivery_id,
        limit=first,
    )
    return [Delivery.of(r["delivery"]) for r in records]


def record_deliveries(
    store: GraphStore, webhook_id: str, done: Sequence[Delivery], *, cursor: int | None
) -> None:
    """Write deliveries' states and move the webhook's cursor (never back; None: leave it), together."""
    store.write(
        "webhooks/write/deliveries_record",
        webhookId=webhook_id,
        cursor=cursor,
        deliveries=[d.row() for d in done],
        at=datetime.now(UTC),
    )


def retry_delivery(
    store: GraphStore, settings: Settings, delivery_id: str, *, client: httpx.Client | None = None
) -> Delivery:
    """Send a dead letter again, now, once, under its own webhook-id (receivers dedupe by it): delivered, or
    still dead with this attempt's status and error. Out of cursor order by nature: the webhook went on."""
    found = deliveries(store, delivery_id=delivery_id, first=1)
    if not found:
        raise WebhookError(f"deliveryId: no delivery {delivery_id!r}")
    dead = found[0]
    if dead.status != "dead":
        raise WebhookError(f"deliveryId: {delivery_id!r} is {dead.status}; only dead letters are re-sent")
    hooks = list_webhooks(store, dead.webhook_id)
    if not hooks:
        raise WebhookError(f"deliveryId: the webhook of {delivery_id!r} is gone")
    key = secret_bytes(settings, dead.webhook_id)
    own = client is None
    client = client or http_client(settings)
    try:
        attempt = send(client, settings, hooks[0].url, key, dead.message)
    finally:
        if own:
            client.close()
    after = dead.attempted(attempt.status, attempt.error, retry_in=None)
    record_deliveries(store, dead.webhook_id, [after], cursor=None)
    return after


def _ids(values: Sequence[str], argument: str) -> list[str]:
    ids = sorted({v.strip() for v in values if v.strip()})
    if len(ids) > MAX_FILTER_IDS:
        raise WebhookError(f"{argument}: at most {MAX_FILTER_IDS}, got {len(ids)}")
    return ids


__all__ = [
    "Registered",
    "deliveries",
    "list_webhooks",
    "record_deliveries",
    "register_webhook",
    "remove_webhook",
    "retry_delivery",
]

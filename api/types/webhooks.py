"""Webhooks: register, list and remove them, read their deliveries, re-send a dead letter; admins only
(api/policy.py), audited as every mutation. The signing secret is in `registerWebhook`'s answer only."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.errors import ApiError
from personagraph.graph.paging import check_first
from personagraph.graph.settings import Settings
from personagraph.graph.webhooks import model, registry

Ctx = Info[Context, None]


@strawberry.enum(description="What a webhook is sent: one message per change of the change log of a type.")
class WebhookEventType(Enum):
    TAG_ADDED = "tag.added"
    TAG_REMOVED = "tag.removed"
    TAG_UPDATED = "tag.updated"
    AUDIENCE_ENTERED = "audience.entered"
    AUDIENCE_EXITED = "audience.exited"
    PROFILE_CHANGED = "profile.changed"


@strawberry.enum(description="Where a delivery is: delivered, waiting to be retried, or dead-lettered.")
class WebhookDeliveryStatus(Enum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    DEAD = "dead"


@strawberry.type(description="One message to one webhook and what became of it (the body is not shown).")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The message's `webhook-id`: receivers dedupe by it.")
    webhook_id: strawberry.ID
    cursor: str = strawberry.field(description="The change's cursor in the change log.")
    type: WebhookEventType
    user_id: strawberry.ID
    status: WebhookDeliveryStatus
    attempts: int
    last_status: int | None = strawberry.field(description="The HTTP status of the last attempt, if any.")
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None

    @staticmethod
    def of(d: model.Delivery) -> WebhookDelivery:
        return WebhookDelivery(
            id=strawberry.ID(d.delivery_id),
            webhook_id=strawberry.ID(d.webhook_id),
            cursor=str(d.seq),
            type=WebhookEventType(d.type),
            user_id=strawberry.ID(d.user_id),
            status=WebhookDeliveryStatus(d.status),
            attempts=d.attempts,
            last_status=d.last_status,
            last_error=d.last_error,
            next_attempt_at=d.next_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


@strawberry.type(description="A registered webhook; its signing secret is never shown after registration.")
class Webhook:
    id: strawberry.ID
    url: str
    events: list[WebhookEventType]
    audience_ids: list[strawberry.ID] = strawberry.field(description="Only these audiences (empty: all).")
    tag_ids: list[strawberry.ID] = strawberry.field(description="Only these tags (empty: all).")
    cursor: str = strawberry.field(
        description="Every change up to this cursor was delivered or dead-lettered."
    )
    created_at: datetime
    created_by: str
    retrying: WebhookDelivery | None = strawberry.field(
        description="The delivery it waits to retry; nothing after it is sent before it is settled."
    )

    @staticmethod
    def of(w: model.Webhook) -> Webhook:
        return Webhook(
            id=strawberry.ID(w.webhook_id),
            url=w.url,
            events=[WebhookEventType(e) for e in w.events],
            audience_ids=[strawberry.ID(a) for a in w.audience_ids],
            tag_ids=[strawberry.ID(t) for t in w.tag_ids],
            cursor=str(w.cursor),
            created_at=w.created_at,
            created_by=w.created_by,
            retrying=WebhookDelivery.of(w.retrying) if w.retrying else None,
        )


@strawberry.type(description="A new webhook and its signing secret, shown this once: keep it.")
class RegisteredWebhook:
    webhook: Webhook
    secret: str = strawberry.field(
        description="`whsec_` and the base64 key that signs every message (docs/realtime.md, Webhooks)."
    )


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Registered webhooks, oldest first (admins only; never their secrets).")
    async def webhooks(self, info: Ctx) -> list[Webhook]:
        return [Webhook.of(w) for w in await info.context.call(registry.list_webhooks)]

    @strawberry.field(description="Deliveries, last updated first: of one webhook or all, dead letters only.")
    async def webhook_deliveries(
        self, info: Ctx, webhook_id: strawberry.ID | None = None, dead: bool = False, first: int = 50
    ) -> list[WebhookDelivery]:
        found = await info.context.call(
            registry.deliveries,
            webhook_id=str(webhook_id) if webhook_id is not None else None,
            status="dead" if dead else None,
            first=check_first(first),
        )
        return [WebhookDelivery.of(d) for d in found]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a webhook: the changes of the given types (narrowed to some audiences and "
        "tags when given) from now on are POSTed to `url`, signed per the Standard Webhooks spec."
    )
    async def register_webhook(
        self,
        info: Ctx,
        url: str,
        events: list[WebhookEventType],
        audience_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only these audiences' events.")
        ] = None,
        tag_ids: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="Only these tags' events.")
        ] = None,
    ) -> RegisteredWebhook:
        principal = info.context.principal
        done = await info.context.call(
            registry.register_webhook,
            settings=_settings(info),
            url=url,
            events=[e.value for e in events],
            audience_ids=[str(a) for a in audience_ids or ()],
            tag_ids=[str(t) for t in tag_ids or ()],
            created_by=principal.subject if principal else "unknown",
        )
        return RegisteredWebhook(webhook=Webhook.of(done.webhook), secret=done.secret)

    @strawberry.mutation(description="Remove a webhook and its deliveries; false when there was none.")
    async def remove_webhook(self, info: Ctx, id: strawberry.ID) -> bool:
        return await info.context.call(registry.remove_webhook, webhook_id=str(id))

    @strawberry.mutation(
        description="Send a dead letter again, now, once (same webhook-id): delivered, or still dead."
    )
    async def retry_webhook_delivery(self, info: Ctx, id: strawberry.ID) -> WebhookDelivery:
        done = await info.context.call(registry.retry_delivery, settings=_settings(info), delivery_id=str(id))
        return WebhookDelivery.of(done)


def _settings(info: Ctx) -> Settings:
    settings = info.context.settings
    if settings is None:
        raise ApiError("webhooks need the server's settings, which this context lacks", "UNAVAILABLE")
    return settings


__all__ = ["RegisteredWebhook", "Webhook", "WebhookDelivery", "WebhookMutations", "WebhookQueries"]

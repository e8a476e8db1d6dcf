"""The GraphQL schema: thin resolvers, each calling one graph/ function (never Cypher)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.scalars import JSON
from strawberry.types import Info

from personagraph.api import types as api_types
from personagraph.api.access import AccessControl
from personagraph.api.context import Context
from personagraph.api.enums import ConsentPurpose, Purpose, TagTier
from personagraph.api.errors import ApiError, ErrorCodes, QuietSchema
from personagraph.api.inputs import AudienceInput, EventInput, OrderInput, UserInput, as_json
from personagraph.api.metrics import OperationMetrics
from personagraph.api.policy import ADMIN, PolicyError, check_argument, protect
from personagraph.api.types import (
    AnalyticsRun,
    Audience,
    BoughtTogether,
    ChannelStats,
    Community,
    CommunityKind,
    ConsentChange,
    CrossSell,
    Product,
    SavedAudience,
    Tag,
    User,
    bought_with_first,
    needs_details,
    read_users,
)
from personagraph.api.types.activation import ActivationMutations
from personagraph.api.types.changes import Subscription
from personagraph.api.types.privacy import Viewer
from personagraph.api.types.webhooks import WebhookMutations, WebhookQueries
from personagraph.api.validation import limit_extensions
from personagraph.graph.analytics import insights
from personagraph.graph.analytics.attribution import channel_stats
from personagraph.graph.audiences import service
from personagraph.graph.audiences.parse import parse_definition
from personagraph.graph.audit import AuditEntry
from personagraph.graph.changes.log import latest_cursor
from personagraph.graph.errors import NotFoundError
from personagraph.graph.events import record as events
from personagraph.graph.events.envelope import ParsedBatch, Rejection
from personagraph.graph.kinds import SURVEY_PURPOSE
from personagraph.graph.paging import check_first
from personagraph.graph.privacy import consent, forget
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles
from personagraph.graph.profiles import write as profile_writes
from personagraph.graph.settings import Settings
from personagraph.graph.tags import taxonomy
from personagraph.graph.tags.engine import refresh_tags
from personagraph.graph.tags.rules.base import SURVEY_INPUTS

Ctx = Info[Context, None]


@strawberry.type
class Query(WebhookQueries):
    @strawberry.field(description="One user's profile, or null when no user has this id.")
    async def user(self, info: Ctx, id: strawberry.ID) -> User | None:
        found = (await read_users(info, [str(id)]))[0]
        return User.of(found) if found else None

    @strawberry.field(description="Several users at once (null where an id is unknown), in the order asked.")
    async def users(self, info: Ctx, ids: list[strawberry.ID]) -> list[User | None]:
        if len(ids) > 100:
            raise ValueError(f"ids: at most 100 per request, got {len(ids)}")
        found = await read_users(info, [str(i) for i in ids])
        return [User.of(p) if p else None for p in found]

    @strawberry.field(description="Users matching a definition; count, members, breakdown, look-alikes.")
    def audience(
        self, info: Ctx, definition: AudienceInput, purpose: Purpose = Purpose.MARKETING
    ) -> Audience:
        return Audience.asked(info.context, definition, purpose)

    @strawberry.field(description="Saved audiences, by id.")
    async def saved_audiences(self, info: Ctx) -> list[SavedAudience]:
        return [SavedAudience.of(s) for s in await info.context.call(service.saved_audiences)]

    @strawberry.field(description="One saved audience, or null.")
    async def saved_audience(self, info: Ctx, id: strawberry.ID) -> SavedAudience | None:
        found = await info.context.call(service.saved_audiences, audience_ids=[str(id)])
        return SavedAudience.of(found[0]) if found else None

    @strawberry.field(description="One product, or null when no product has this sku.")
    async def product(self, info: Ctx, sku: strawberry.ID) -> Product | None:
        first = bought_with_first(info)
        details = needs_details(info)
        page = await info.context.call(products.product_page, sku=str(sku), first=first, details=details)
        return Product.of_page(page, first) if page else None

    @strawberry.field(
        description="Suggestions from a product (what sells with it), a user (their history, unless they "
        "opted out of personalisation), or both."
    )
    async def cross_sell(
        self,
        info: Ctx,
        sku: strawberry.ID | None = None,
        user_id: strawberry.ID | None = None,
        first: int = 10,
    ) -> CrossSell:
        if user_id is not None:
            check_argument(info.context.role, "Query", "crossSell", "userId")
        found = await info.context.call(
            products.cross_sell,
            sku=str(sku) if sku is not None else None,
            user_id=str(user_id) if user_id is not None else None,
            first=first,
        )
        if user_id is not None:  # a suggestion from someone's purchases is a read of their data
            info.context.audit.record(
                AuditEntry(
                    actor=info.context.principal.subject if info.context.principal else "unknown",
                    role=info.context.role.value,
                    action="read",
                    what="crossSell(userId)",
                    rows=1,
                    details={},
                )
            )
        return CrossSell.of(found)

    @strawberry.field(
        description="The strongest bought-together pairs by lift, of at least `minCount` shared orders."
    )
    async def bought_together(self, info: Ctx, first: int = 20, min_count: int = 3) -> list[BoughtTogether]:
        found = await info.context.call(products.top_pairs, first=first, min_count=min_count)
        return [BoughtTogether.of(p) for p in found]

    @strawberry.field(
        description="Most influential users (PageRank), optionally within one social community."
    )
    async def influencers(
        self, info: Ctx, first: int = 20, community_id: strawberry.ID | None = None
    ) -> list[User]:
        found = await info.context.call(
            insights.influencers, first=first, community_id=str(community_id) if community_id else None
        )
        return [User.of(p) for p in found]

    @strawberry.field(description="Communities of one kind, largest first.")
    async def communities(
        self, info: Ctx, kind: CommunityKind = CommunityKind.SOCIAL, first: int = 50
    ) -> list[Community]:
        return [
            Community.of(c)
            for c in await info.context.call(insights.communities, kind=kind.value, first=first)
        ]

    @strawberry.field(description="Personas of the last persona run, largest first.")
    async def personas(self, info: Ctx) -> list[api_types.Persona]:
        return [api_types.Persona.of(p) for p in await info.context.call(insights.personas)]

    @strawberry.field(description="Attribution per channel from the last attribution run, by revenue.")
    async def channel_stats(self, info: Ctx) -> list[ChannelStats]:
        return [ChannelStats.of(s) for s in await info.context.call(channel_stats)]

    @strawberry.field(description="The tag taxonomy (or one tier) with usage counts.")
    async def tags(self, info: Ctx, tier: TagTier | None = None) -> list[Tag]:
        found = await info.context.call(taxonomy.list_tags, tier=tier.value if tier else None)
        return [Tag.of(t) for t in found]

    @strawberry.field(description="The audit log, newest first (admins only; docs/security.md).")
    async def audit_log(
        self, info: Ctx, first: int = 50, action: str | None = None
    ) -> list[api_types.AuditLogEntry]:
        check_first(first)
        found = await run_in_threadpool(info.context.audit.latest, first, action)
        return [api_types.AuditLogEntry.of(e) for e in found]

    @strawberry.field(
        description="The change log's newest cursor: a subscription given it as `after` gets every change "
        "from this moment, none lost while it connects."
    )
    async def change_cursor(self, info: Ctx) -> str:
        return str(await info.context.call(latest_cursor))

    @strawberry.field(description="Who is calling: subject, role and what the role may not read.")
    def viewer(self, info: Ctx) -> Viewer:
        principal = info.context.principal
        if principal is None:  # AccessControl refuses anonymous operations first
            raise PolicyError("Credentials required")
        return Viewer.of(principal)

    @strawberry.field(description="Analytics runs, newest first.")
    async def analytics_runs(self, info: Ctx, first: int = 20, kind: str | None = None) -> list[AnalyticsRun]:
        return [
            AnalyticsRun.of(r)
            for r in await info.context.call(insights.analytics_runs, first=first, kind=kind)
        ]


@strawberry.type(description="What recording an event changed: the user now, and their rule tags.")
class RecordedEvent:
    user: User
    event_key: str = strawberry.field(description="The event id, or a digest of its content.")
    new: bool = strawberry.field(description="False when this event was already recorded.")
    tags_added: list[str]
    tags_removed: list[str]
    tags_updated: list[str]


@strawberry.type(description="One event of recordEvents that was not kept, and why.")
class EventRejection:
    index: int = strawberry.field(description="Its place in the list, from 0.")
    reason: str


@strawberry.type(description="What recordEvents kept: durable in the event log, folded within moments.")
class RecordedEvents:
    accepted: int
    duplicates: int = strawberry.field(description="Recorded before: acknowledged, not applied again.")
    rejected: list[EventRejection]


def _event_fields(input: EventInput) -> dict[str, Any]:
    return {
        "user_id": str(input.user_id),
        "kind": input.kind.value,
        "at": input.at,
        "target": input.target,
        "event_id": input.event_id,
        "channel_id": str(input.channel_id) if input.channel_id else None,
    }


@strawberry.type(description="What recording an order changed: the user now, and their rule tags.")
class RecordedOrder:
    user: User
    order_id: strawberry.ID
    lines: int
    tags_added: list[str]
    tags_removed: list[str]
    tags_updated: list[str]


@strawberry.type(description="What forgetting a user did; `subject` is the suppression hash, not the id.")
class ForgetResult:
    subject: str
    removed: JSON = strawberry.field(description="Nodes and relationships removed, by kind.")
    anonymised_orders: int
    stale_neighbours: int
    stale_groups: int


@strawberry.type(description="A manual tag change.")
class TagChange:
    user_id: strawberry.ID
    tag_id: strawberry.ID
    created: bool
    removed_sources: list[str]


async def _user(info: Ctx, user_id: str) -> User:
    """The user as stored after a write (fresh read, not the request's cached one)."""
    found = await info.context.call(profiles.get_user, user_id=user_id)
    if found is None:
        raise NotFoundError(f"userId: no user with id {user_id!r}")
    return User.of(found)


async def _after_recording(info: Ctx, done: events.RecordedEvent | events.RecordedOrder) -> dict[str, Any]:
    """What both record mutations answer (graph/events/record.py re-tagged the user and refreshed their
    saved-audience membership already): the user as stored and their rule-tag changes."""
    return {
        "user": await _user(info, done.user_id),
        "tags_added": list(done.tags_added),
        "tags_removed": list(done.tags_removed),
        "tags_updated": list(done.tags_updated),
    }


@strawberry.type
class Mutation(WebhookMutations, ActivationMutations):
    @strawberry.mutation(description="Create a user or update the given fields of one.")
    async def upsert_user(self, info: Ctx, input: UserInput) -> User:
        found = await info.context.call(
            profile_writes.upsert_user,
            user_id=str(input.id),
            fields=input.fields(),
            suppression_key=info.context.suppression_key,
        )
        return User.of(found)

    @strawberry.mutation(
        description="Record one behaviour event: the user's behaviour edge, rule tags and saved-audience "
        "membership are updated before this returns (through the event log, as /v1/batch; see recordEvents "
        "for many at once without waiting)."
    )
    async def record_event(self, info: Ctx, input: EventInput) -> RecordedEvent:
        envelope, row = events.event_envelope(**_event_fields(input))
        done = events.recorded_event(envelope, row, await info.context.record(envelope))
        return RecordedEvent(event_key=done.event_key, new=done.new, **await _after_recording(info, done))

    @strawberry.mutation(
        description="Record one order: lines, rule tags and saved-audience membership are updated "
        "before this returns."
    )
    async def record_order(self, info: Ctx, input: OrderInput) -> RecordedOrder:
        envelope = events.order_envelope(
            order_id=str(input.order_id),
            user_id=str(input.user_id),
            lines=[(str(x.sku), x.quantity, x.unit_price) for x in input.lines],
            ordered_at=input.ordered_at,
            channel_id=str(input.channel_id) if input.channel_id else None,
        )
        done = events.recorded_order(envelope, await info.context.record(envelope))
        return RecordedOrder(
            order_id=strawberry.ID(done.order_id), lines=done.lines, **await _after_recording(info, done)
        )

    @strawberry.mutation(
        description="Record many behaviour events without waiting for them to be folded: answered once "
        "they are durable in the event log (as POST /v1/batch). A bad event is rejected with its index "
        "and reason and the good ones are kept; an event recorded before (same eventId, or the same "
        "content) is counted as a duplicate and not applied again."
    )
    async def record_events(
        self, info: Ctx, events_: Annotated[list[EventInput], strawberry.argument(name="events")]
    ) -> RecordedEvents:
        accepted = []
        rejected = []
        for index, one in enumerate(events_):
            try:
                accepted.append((index, events.event_envelope(**_event_fields(one))[0]))
            except events.EventInputError as error:
                rejected.append(Rejection(index, str(error)))
        collector = info.context.collector
        if collector is None:
            raise ApiError(
                "recordEvents needs the event log, which this server has not opened", "UNAVAILABLE"
            )
        receipt = await collector.receive(ParsedBatch(accepted, rejected))
        return RecordedEvents(
            accepted=receipt.accepted,
            duplicates=receipt.duplicates,
            rejected=[EventRejection(index=r.index, reason=r.reason) for r in receipt.rejected],
        )

    @strawberry.mutation(description="Give a user a tag by hand (rules never override a manual tag).")
    async def tag_user(
        self,
        info: Ctx,
        user_id: strawberry.ID,
        tag_id: strawberry.ID,
        weight: float = 1.0,
        expires_at: datetime | None = None,
    ) -> TagChange:
        done = await info.context.call(
            taxonomy.tag_user,
            user_id=str(user_id),
            tag_id=str(tag_id),
            weight=weight,
            expires_at=expires_at,
            suppression_key=info.context.suppression_key,
        )
        return TagChange(
            user_id=user_id, tag_id=strawberry.ID(done.tag_id), created=done.created, removed_sources=[]
        )

    @strawberry.mutation(description="Take a tag from a user, whatever assigned it.")
    async def untag_user(self, info: Ctx, user_id: strawberry.ID, tag_id: strawberry.ID) -> TagChange:
        done = await info.context.call(taxonomy.untag_user, user_id=str(user_id), tag_id=str(tag_id))
        return TagChange(
            user_id=user_id,
            tag_id=strawberry.ID(done.tag_id),
            created=False,
            removed_sources=list(done.removed),
        )

    @strawberry.mutation(
        description="Record a consent statement (granted or withdrawn) with its source; the user's flag, "
        "consent history and saved-audience membership are updated before this returns."
    )
    async def set_consent(
        self,
        info: Ctx,
        user_id: strawberry.ID,
        purpose: ConsentPurpose,
        granted: bool,
        source: str,
        at: datetime | None = None,
    ) -> ConsentChange:
        done = await info.context.call(
            consent.set_consent,
            user_id=str(user_id),
            purpose=purpose.value,
            granted=granted,
            source=source,
            at=at,
        )
        if done.purpose == SURVEY_PURPOSE and done.applied:  # the survey rules judge the user again now
            await info.context.call(
                refresh_tags,
                user_ids=[done.user_id],
                changed=SURVEY_INPUTS,
                cache=info.context.tag_cache,
                known_users=True,
            )
        return ConsentChange.of(done)

    @strawberry.mutation(
        description="Forget a user (erasure): their node, identities, behaviour, tags, ties and consent "
        "history go; their orders stay only anonymised; neighbours' analytics are marked stale; the id is "
        "put on the suppression list so later loads refuse it (docs/privacy-data.md)."
    )
    async def forget_user(self, info: Ctx, user_id: strawberry.ID) -> ForgetResult:
        principal = info.context.principal
        actor = principal.subject if principal else "unknown"
        report = await info.context.call(
            forget.forget_user, user_id=str(user_id), key=info.context.suppression_key, actor=actor
        )
        info.context.audit.record(
            AuditEntry(
                actor=actor,
                role=info.context.role.value,
                action="forget",
                what="forgetUser",
                rows=1 if report.removed else 0,
                details=report.as_dict(),  # counts and the suppression hash, never the id
            )
        )
        return ForgetResult(
            subject=report.subject,
            removed=cast(JSON, dict(report.removed)),
            anonymised_orders=report.anonymised_orders,
            stale_neighbours=report.stale_neighbours,
            stale_groups=report.stale_groups,
        )

    @strawberry.mutation(
        description="Save (or replace) an audience definition; counts it and stores membership."
    )
    async def save_audience(
        self,
        info: Ctx,
        id: strawberry.ID,
        name: str,
        definition: AudienceInput,
        purpose: Purpose = Purpose.MARKETING,
        owner: Annotated[
            str | None,
            strawberry.argument(
                description="Who the audience belongs to: the caller when omitted; "
                "only admins may name another."
            ),
        ] = None,
    ) -> SavedAudience:
        ctx = info.context
        role = ctx.role
        caller = ctx.principal.subject if ctx.principal else "unknown"
        root = protect(role, parse_definition(as_json(definition)), purpose.value, ctx.disclosure.k)
        if role != ADMIN and owner not in (None, caller):
            raise PolicyError(f"owner: the {role.value} role may save audiences only as their own")
        existing = await ctx.call(service.saved_audiences, audience_ids=[str(id)])
        if role != ADMIN and existing and existing[0].owner != caller:
            raise PolicyError(
                "id: this saved audience belongs to someone else; only its owner or an admin may replace it"
            )
        saved = await ctx.call(
            service.save_audience,
            audience_id=str(id),
            name=name,
            definition=root,
            owner=owner or caller,
            purpose=purpose.value,
        )
        return SavedAudience.of(saved)


def build_schema(settings: Settings | None = None) -> QuietSchema:
    """The schema with the query limits of ``settings`` (api/validation.py); the defaults when None.

    The limits are extensions only: the SDL is the same whatever the settings.
    """
    return QuietSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            OperationMetrics,
            ErrorCodes,
            AccessControl,  # the role matrix before execution, the audit log after
            *limit_extensions(settings or Settings.model_construct()),  # defaults, no environment
            lambda: ParserCache(maxsize=1024),  # a factory per request; the LRU itself is shared
            lambda: ValidationCache(maxsize=1024),
        ],
    )


schema = build_schema()  # `persona api-schema` and the SDL test; apps build theirs from their settings

"""Subscriptions over the change log: a user's tags, a user's profile, a saved audience's membership, each
message a change with its cursor; resumed after the last cursor a subscriber saw, nothing missed.

A subscription delivers what the equivalent read would show its caller's role, message by message:

- ``userTagsChanged`` / ``profileChanged``: the roles that may look the user up (``Query.user``, in
  api/policy.py's FIELD_ROLES); a profile change only about an attribute some User field the role may
  read shows (``birthYear`` never reaches an analyst); the subscription ends with NOT_FOUND when the
  user is forgotten (their changes left the log with them);
- ``audienceMembershipChanged``: the roles that may list the saved audience's members, checked as
  ``Audience.members`` checks them before any member id is shown (api/types/audiences.py: the purpose
  and the definition for the role, the k-anonymity floor of the audience and of each of its
  conditions); a member's change only when the audience's purpose may use them now (their consent, as
  member lists apply it: graph/audiences/service.py ``allowed_among``), except an exit, which tells the
  subscriber to stop using someone and names no one it was not shown entering.

Caps, the poller and the resume protocol are api/change_feed.py's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from personagraph.api.auth import AuthError
from personagraph.api.change_feed import ChangeFilter, Stream, UserGone
from personagraph.api.context import Context
from personagraph.api.enums import Purpose
from personagraph.api.errors import ApiError
from personagraph.api.policy import allowed
from personagraph.api.types.audiences import Audience
from personagraph.api.types.profiles import USER_FIELD_READS
from personagraph.graph.audiences import service
from personagraph.graph.changes.log import Change, ChangeKind
from personagraph.graph.errors import NotFoundError
from personagraph.graph.ids import existing_ids
from personagraph.graph.profiles.read import USER_PROPERTIES

Ctx = Info[Context, None]
Shown = Callable[[list[Change]], Awaitable[list[Change]]]  # the changes of a batch the caller may see
CURSOR = re.compile(r"[0-9]{1,18}")


@strawberry.enum(
    description="What changed: a tag added, removed or re-weighed; an audience entered or left; "
    "a profile attribute changed."
)
class ChangeAction(Enum):
    ADDED = "added"
    REMOVED = "removed"
    UPDATED = "updated"
    ENTERED = "entered"
    EXITED = "exited"
    CHANGED = "changed"


@strawberry.type(description="One change of the change log, as a subscription delivers it.")
class ChangeMessage:
    cursor: str = strawberry.field(description="Where this change is in the log: resume `after` it.")
    user_id: strawberry.ID
    subject: str = strawberry.field(description="The tag id, the saved audience's id, or the attribute.")
    change: ChangeAction
    at: datetime = strawberry.field(description="When the change was recorded.")
    cause: str = strawberry.field(description="What caused it: event, rule, manual, run, ...")
    cause_ids: list[str] = strawberry.field(description="The events (message ids) or run that caused it.")
    rule_id: str | None = strawberry.field(description="The rule, for a rule tag.")

    @staticmethod
    def of(c: Change) -> ChangeMessage:
        return ChangeMessage(
            cursor=str(c.seq),
            user_id=strawberry.ID(c.user_id),
            subject=c.subject,
            change=ChangeAction(c.change),
            at=c.at,
            cause=c.cause,
            cause_ids=list(c.cause_ids),
            rule_id=c.rule_id,
        )


AFTER = (
    "Resume after this cursor (a message's `cursor`): every change since, then live ones. Without it, "
    "from now."
)


After = Annotated[str | None, strawberry.argument(description=AFTER)]


@strawberry.type
class Subscription:
    @strawberry.subscription(description="A user's tags added, removed or re-weighed.")
    async def user_tags_changed(
        self, info: Ctx, user_id: strawberry.ID, after: After = None
    ) -> AsyncIterator[ChangeMessage]:
        return await _user_changes(info, "tag", str(user_id), after, _all)

    @strawberry.subscription(
        description="A user's profile attributes changed (only those the caller's role may read)."
    )
    async def profile_changed(
        self, info: Ctx, user_id: strawberry.ID, after: After = None
    ) -> AsyncIterator[ChangeMessage]:
        role = info.context.role

        async def shown(batch: list[Change]) -> list[Change]:
            return [c for c in batch if any(allowed(role, "User", f) for f in fields_showing(c.subject))]

        return await _user_changes(info, "profile", str(user_id), after, shown)

    @strawberry.subscription(
        description="Users entering or leaving a saved audience (its members as the caller may list them)."
    )
    async def audience_membership_changed(
        self, info: Ctx, audience_id: strawberry.ID, after: After = None
    ) -> AsyncIterator[ChangeMessage]:
        found = await info.context.call(service.saved_audiences, audience_ids=[str(audience_id)])
        if not found:
            raise NotFoundError(f"audienceId: no saved audience with id {str(audience_id)!r}")
        saved = found[0]
        audience = Audience.of(
            info.context, saved.definition, Purpose(saved.purpose)
        )  # the role's checks ...
        await audience.listable(
            info.context, "audienceMembershipChanged"
        )  # ... and the floors, before any id

        async def shown(batch: list[Change]) -> list[Change]:
            users = sorted({c.user_id for c in batch if c.change != "exited"})
            usable = (
                await info.context.call(
                    service.allowed_among, definition=audience.root, user_ids=users, purpose=saved.purpose
                )
                if users
                else set()
            )
            return [c for c in batch if c.change == "exited" or c.user_id in usable]

        wanted = ChangeFilter(("audience",), subjects=(saved.audience_id,))
        return await _subscribe(info, wanted, after, shown)


async def _all(batch: list[Change]) -> list[Change]:
    return batch


async def _user_changes(
    info: Ctx, kind: ChangeKind, user_id: str, after: str | None, shown: Shown
) -> AsyncIterator[ChangeMessage]:
    """One user's changes of one kind, once the user exists (as ``user(id)`` would show them)."""
    if not await info.context.call(existing_ids, kind="users", ids=[user_id]):
        raise NotFoundError(f"userId: no user with id {user_id!r}")
    return await _subscribe(info, ChangeFilter((kind,), user_ids=(user_id,)), after, shown)


async def _subscribe(
    info: Ctx, wanted: ChangeFilter, after: str | None, shown: Shown
) -> AsyncIterator[ChangeMessage]:
    """The messages of one subscription, counted against the caps from now until it ends."""
    ctx = info.context
    feed = ctx.changes
    if feed is None or ctx.principal is None:
        raise ApiError("Subscriptions need the change feed, which this server has not started", "UNAVAILABLE")
    latest = await feed.latest()
    start = latest if after is None else _cursor(after, latest)
    lease = feed.lease(ctx, ctx.principal.budget)
    return Stream(_messages(ctx, feed.batches(wanted, start), shown), lease.release)


async def _messages(
    ctx: Context, batches: AsyncIterator[list[Change]], shown: Shown
) -> AsyncIterator[ChangeMessage]:
    try:
        async for batch in batches:
            _still_authenticated(ctx)
            for change in await shown(batch) if batch else []:
                yield ChangeMessage.of(change)
    except UserGone:
        raise NotFoundError("userId: this user no longer exists") from None


def _still_authenticated(ctx: Context) -> None:
    """A subscription lasts only while its credentials do (a revoked key, an expired token end it)."""
    if ctx.reauthenticate is None:
        return
    try:
        ctx.reauthenticate()
    except AuthError as exc:
        raise ApiError(
            f"The subscription's credentials are no longer valid: {exc}", "UNAUTHENTICATED"
        ) from None


def _cursor(after: str, latest: int) -> int:
    if not CURSOR.fullmatch(after):
        # Not echoed: a cut-off echo of what the caller sent only confuses (and could be anything).
        raise ApiError("after: not a cursor; pass a message's `cursor` (digits only)")
    cursor = int(after)
    if cursor > latest:
        raise ApiError(f"after: no change has cursor {cursor} yet (the latest is {latest})")
    return cursor


def fields_showing(prop: str) -> list[str]:
    """The User fields that show the stored attribute ``prop`` (a profile change's subject)."""
    name = PROFILE_FIELD.get(prop)
    return [field for field, reads in USER_FIELD_READS.items() if name is not None and name in reads]


PROFILE_FIELD = {prop: name for name, prop in USER_PROPERTIES.items()}  # node property -> UserProfile field

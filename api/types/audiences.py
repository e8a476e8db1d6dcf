"""Audience types: a definition evaluated lazily, so a request pays only for the fields it asks for."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Literal, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.counts import Count
from personagraph.api.enums import Purpose
from personagraph.api.inputs import AudienceInput, as_json
from personagraph.api.policy import ADMIN, PolicyError, check_attributes, protect
from personagraph.api.types.paging import page_info
from personagraph.api.types.profiles import (
    Lookalike,
    User,
    UserConnection,
    UserEdge,
    lookalike_list,
    read_users,
)
from personagraph.graph.audiences import service
from personagraph.graph.audiences.model import AndNode, Condition, NotNode, OrNode, kind_of
from personagraph.graph.audiences.parse import definition_json, parse_definition
from personagraph.graph.privacy.singling_out import RANK_FIELDS, SINGLING_ATTRIBUTES

Ctx = Info[Context, None]


@strawberry.type(
    description="Members per value of one attribute (value null = not set). For roles below admin, "
    "values with fewer members than the floor are merged into one `grouped` bucket, value not shown."
)
class BreakdownBucket:
    value: JSON | None
    count: Count
    grouped: bool = strawberry.field(
        default=False, description="True for the bucket holding every value under the floor."
    )


@strawberry.type(description="Users matching a definition, counted and paged in Neo4j, consent applied.")
class Audience:
    root: strawberry.Private[Condition]
    purpose: Purpose
    counted: strawberry.Private[dict[str, asyncio.Task[service.AudienceCount]]]

    @staticmethod
    def of(ctx: Context, root: Condition, purpose: Purpose) -> Audience:
        """The audience, once the caller's role may evaluate this definition for this purpose, as that
        role may ask it (ranks coarsened below admin: api/policy.py ``protect``)."""
        return Audience(
            root=protect(ctx.role, root, purpose.value, ctx.disclosure.k), purpose=purpose, counted={}
        )

    @staticmethod
    def asked(ctx: Context, definition: AudienceInput, purpose: Purpose) -> Audience:
        """``Query.audience``: the definition as sent, parsed and checked (graph/audiences/parse.py), then
        ``of``; api/fast_path.py calls it too, with the arguments converted as Strawberry converts them."""
        return Audience.of(ctx, parse_definition(as_json(definition)), purpose)

    def _asked(self, which: str) -> tuple[str, ...]:
        """What a count answers, for its noise (graph/privacy/k_anonymity.py): same question, same noise."""
        return (definition_json(self.root), self.purpose.value, which)

    async def _count(self, ctx: Context) -> service.AudienceCount:
        """One count query however many of count / excludedByConsent / members the request selects."""
        if "task" not in self.counted:
            self.counted["task"] = asyncio.ensure_future(
                ctx.call(service.count_audience, definition=self.root, purpose=self.purpose.value)
            )
        return await self.counted["task"]

    async def listable(self, ctx: Context, what: str) -> None:
        """Members (and look-alikes) only of audiences shown with a count, not "fewer than k", and,
        below admin, only when every condition of the definition on its own matches at least k users.

        The answer is a count shown (charged to the count budget like one). The per-condition floor
        stops padding: listing ``small or pad`` and ``pad`` and subtracting would list ``small``; with
        every condition at k or over, any set a definition can make is one the lists of its conditions
        already show.

        Admins are shown every count exactly and have no count budget (api/counts.py), so nothing here
        can refuse them: their lists are not counted first.
        """
        if ctx.role == ADMIN:
            return
        n = (await self._count(ctx)).count
        if ctx.count(n, *self._asked("count")).value is None:
            raise PolicyError(
                f"{what}: this audience has fewer than {ctx.disclosure.k} members; the members of "
                "audiences under the k-anonymity floor are not listed"
            )
        whole = definition_json(self.root)
        conditions = [c for c in _conditions(self.root) if definition_json(c) != whole]  # counted above
        if not conditions:
            return
        counts = await asyncio.gather(
            *(ctx.call(service.count_audience, definition=c, purpose=self.purpose.value) for c in conditions)
        )
        for condition, counted in zip(conditions, counts, strict=True):
            asked = (definition_json(condition), self.purpose.value, "count")
            if ctx.count(counted.count, *asked).value is None:
                raise PolicyError(
                    f"{what}: the condition {kind_of(condition)} {definition_json(condition)} matches fewer "
                    f"than {ctx.disclosure.k} users; members are listed only when every condition of the "
                    "definition matches at least that many on its own"
                )

    @strawberry.field(
        description="What in the definition matches no one because the graph lacks it, e.g. a `tagId` no "
        "tag has (conditions name tags by id). The counts and members stand; empty when nothing is amiss."
    )
    async def warnings(self, info: Ctx) -> list[str]:
        return await info.context.call(service.definition_warnings, definition=self.root)

    @strawberry.field(description="The definition as canonical JSON.")
    def definition(self) -> JSON:
        return cast(JSON, json.loads(definition_json(self.root)))

    @strawberry.field(description="Members the purpose may use (consent applied).")
    async def count(self, info: Ctx) -> Count:
        return await self.shown(info.context, "count")

    @strawberry.field(description="Users who match but are left out for lack of consent.")
    async def excluded_by_consent(self, info: Ctx) -> Count:
        return await self.shown(info.context, "excluded")

    async def shown(self, ctx: Context, which: Literal["count", "excluded"]) -> Count:
        """The audience's members (``count``) or those left out for lack of consent (``excluded``), from
        its one count query, as the caller may see them (``Context.count``); api/fast_path.py shows its
        counts through this too."""
        counted = await self._count(ctx)
        n = counted.count if which == "count" else counted.excluded_by_consent
        return ctx.count(n, *self._asked(which))

    @strawberry.field(description="Members by id, in keyset pages (stable while users are added).")
    async def members(self, info: Ctx, first: int = 50, after: str | None = None) -> UserConnection:
        page = await self.member_ids(info.context, first, after)
        loaded = await read_users(info, list(page.users), "edges", "node")
        pairs = [(uid, p) for uid, p in zip(page.users, loaded, strict=True) if p is not None]
        cursors = [service.member_cursor(uid) for uid, _ in pairs]
        return UserConnection(
            edges=[UserEdge(cursor=c, node=User.of(p)) for c, (_, p) in zip(cursors, pairs, strict=True)],
            page_info=page_info(cursors, page.has_next, after),
            total_count=None,
        )

    async def member_ids(self, ctx: Context, first: int, after: str | None) -> service.MembersPage:
        """A page of member ids, once the audience may be listed (``listable``): ``members``' reads
        before the members' profiles (api/fast_path.py reads the same)."""
        await self.listable(ctx, "members")
        return await ctx.call(
            service.audience_members,
            definition=self.root,
            first=first,
            after=after,
            purpose=self.purpose.value,
        )

    @strawberry.field(description="Members per value of an attribute (city, ageBand, lifecycle, ...).")
    async def breakdown(self, info: Ctx, by: str) -> list[BreakdownBucket]:
        check_attributes(info.context.role, [by], argument="by")
        if info.context.role != ADMIN and (by in SINGLING_ATTRIBUTES or by in RANK_FIELDS):
            raise PolicyError(f"by: the {info.context.role.value} role may not break down by {by}")
        found = await info.context.call(
            service.breakdown, definition=self.root, by=by, purpose=self.purpose.value
        )
        buckets: list[BreakdownBucket] = []
        under = 0
        for value, n in found:
            count = info.context.count(n, *self._asked(f"breakdown:{by}:{json.dumps(value)}"))
            if count.value is None:
                under += n
            else:
                buckets.append(BreakdownBucket(value=value, count=count))
        if under:
            grouped = info.context.count(under, *self._asked(f"breakdown:{by}:grouped"))
            buckets.append(BreakdownBucket(value=None, count=grouped, grouped=True))
        return buckets

    @strawberry.field(description="Users most like this audience who are not in it, with the reasons.")
    async def lookalikes(self, info: Ctx, first: int = 20) -> list[Lookalike]:
        await self.listable(info.context, "lookalikes")
        found = await info.context.call(
            service.expand_lookalike, definition=self.root, first=first, purpose=self.purpose.value
        )
        return lookalike_list(found)


@strawberry.type(description="One entry of a saved audience's count history.")
class CountPoint:
    count: Count
    counted_at: datetime


@strawberry.type(description="A stored definition with owner and count history; `audience` evaluates it now.")
class SavedAudience:
    saved: strawberry.Private[service.SavedAudience]

    @staticmethod
    def of(saved: service.SavedAudience) -> SavedAudience:
        return SavedAudience(saved=saved)

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.saved.audience_id)

    @strawberry.field
    def name(self) -> str:
        return self.saved.name

    @strawberry.field
    def owner(self) -> str:
        return self.saved.owner

    @strawberry.field
    def purpose(self) -> Purpose:
        return Purpose(self.saved.purpose)

    @strawberry.field
    def definition(self, info: Ctx) -> JSON:
        ctx = info.context
        protect(ctx.role, self.saved.definition, self.saved.purpose, ctx.disclosure.k)
        return cast(JSON, json.loads(definition_json(self.saved.definition)))

    @strawberry.field(description="Counts recorded at each save or refresh, oldest first.")
    def history(self, info: Ctx) -> list[CountPoint]:
        # Only for whom the definition, as saved, is one they may evaluate for its purpose: the counts
        # were taken of it exactly (a coarsened version would count other people).
        ctx = info.context
        if (
            protect(ctx.role, self.saved.definition, self.saved.purpose, ctx.disclosure.k)
            != self.saved.definition
        ):
            raise PolicyError(
                f"history: this audience's definition uses influence ranks finer than groups of "
                f"{ctx.disclosure.k}; its counts are shown to admins only"
            )
        # Noise keyed by the count, not its time: saving the same definition again and again records
        # the same count, which then shows the same value (keyed by time, each would be a fresh sample).
        asked = (definition_json(self.saved.definition), self.saved.purpose)
        return [
            CountPoint(count=info.context.count(c, *asked, f"history:{c}"), counted_at=t)
            for c, t in zip(self.saved.counts, self.saved.counted_at, strict=False)
        ]

    @strawberry.field(description="The definition evaluated now.")
    def audience(self, info: Ctx) -> Audience:
        return Audience.of(info.context, self.saved.definition, Purpose(self.saved.purpose))


def _conditions(root: Condition) -> list[Condition]:
    """The conditions ``and``, ``or`` and ``not`` combine (a tie condition counts as one, with its
    sub-audience), each once."""
    found: dict[str, Condition] = {}
    stack: list[Condition] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, AndNode | OrNode | NotNode):
            stack.extend(node.children())
        else:
            found.setdefault(definition_json(node), node)
    return list(found.values())

"""Audience types: a definition evaluated lazily, so a request pays only for the fields it asks for."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.inputs import Purpose
from api.types import Lookalike, User, UserConnection, UserEdge, lookalike_list, page_info
from graph.audiences import service
from graph.audiences.model import Condition
from graph.audiences.parse import definition_json

Ctx = Info[Context, None]


@strawberry.type(description="Members per value of one attribute (value null = not set).")
class BreakdownBucket:
    value: JSON | None
    count: int


@strawberry.type(description="Users matching a definition, counted and paged in Neo4j, consent applied.")
class Audience:
    root: strawberry.Private[Condition]
    purpose: Purpose
    counted: strawberry.Private[dict[str, asyncio.Task[service.AudienceCount]]]

    @staticmethod
    def of(root: Condition, purpose: Purpose) -> Audience:
        return Audience(root=root, purpose=purpose, counted={})

    async def _count(self, info: Ctx) -> service.AudienceCount:
        """One count query however many of count / excludedByConsent the request selects."""
        if "task" not in self.counted:
            self.counted["task"] = asyncio.ensure_future(
                info.context.call(service.count_audience, definition=self.root, purpose=self.purpose.value)
            )
        return await self.counted["task"]

    @strawberry.field(description="The definition as canonical JSON.")
    def definition(self) -> JSON:
        return cast(JSON, json.loads(definition_json(self.root)))

    @strawberry.field(description="Members the purpose may use (consent applied).")
    async def count(self, info: Ctx) -> int:
        return (await self._count(info)).count

    @strawberry.field(description="Users who match but are left out for lack of consent.")
    async def excluded_by_consent(self, info: Ctx) -> int:
        return (await self._count(info)).excluded_by_consent

    @strawberry.field(description="Members by id, in keyset pages (stable while users are added).")
    async def members(self, info: Ctx, first: int = 50, after: str | None = None) -> UserConnection:
        page = await info.context.call(
            service.audience_members,
            definition=self.root,
            first=first,
            after=after,
            purpose=self.purpose.value,
        )
        loaded = await info.context.users().load_many(page.users)
        pairs = [(uid, p) for uid, p in zip(page.users, loaded, strict=True) if p is not None]
        cursors = [service.encode_cursor(uid) for uid, _ in pairs]
        return UserConnection(
            edges=[UserEdge(cursor=c, node=User.of(p)) for c, (_, p) in zip(cursors, pairs, strict=True)],
            page_info=page_info(cursors, page.has_next, after),
            total_count=None,
        )

    @strawberry.field(description="Members per value of an attribute (city, ageBand, lifecycle, ...).")
    async def breakdown(self, info: Ctx, by: str) -> list[BreakdownBucket]:
        found = await info.context.call(
            service.breakdown, definition=self.root, by=by, purpose=self.purpose.value
        )
        return [BreakdownBucket(value=value, count=count) for value, count in found]

    @strawberry.field(description="Users most like this audience who are not in it, with the reasons.")
    async def lookalikes(self, info: Ctx, first: int = 20) -> list[Lookalike]:
        found = await info.context.call(
            service.expand_lookalike, definition=self.root, first=first, purpose=self.purpose.value
        )
        return lookalike_list(found)


@strawberry.type(description="One entry of a saved audience's count history.")
class CountPoint:
    count: int
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
    def definition(self) -> JSON:
        return cast(JSON, json.loads(definition_json(self.saved.definition)))

    @strawberry.field(description="Counts recorded at each save or refresh, oldest first.")
    def history(self) -> list[CountPoint]:
        return [
            CountPoint(count=c, counted_at=t)
            for c, t in zip(self.saved.counts, self.saved.counted_at, strict=False)
        ]

    @strawberry.field(description="The definition evaluated now.")
    def audience(self) -> Audience:
        return Audience.of(self.saved.definition, Purpose(self.saved.purpose))

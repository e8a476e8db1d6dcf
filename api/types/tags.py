"""Tags: the taxonomy with its usage counts, and the tags a user holds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import strawberry
from strawberry.types import Info

from personagraph.api.context import Context
from personagraph.api.types.analytics import shown
from personagraph.api.types.records import from_record
from personagraph.graph.profiles import read as profiles
from personagraph.graph.tags import taxonomy

Ctx = Info[Context, None]


@strawberry.type(description="A tag a user holds, with how and why it was assigned.")
class UserTag:
    tag_id: strawberry.ID
    name: str | None
    tier: str | None
    weight: float
    source: str = strawberry.field(description="manual, rule or model.")
    rule_id: str | None
    assigned_at: datetime | None
    expires_at: datetime | None
    evidence: list[str] = strawberry.field(description="The events or orders that made a rule tag true.")

    @staticmethod
    def of(tag: profiles.UserTag) -> UserTag:
        return from_record(UserTag, tag, evidence=list(tag.evidence))


def _tag_count(source: str) -> Callable[[Tag, Ctx], int | None]:
    def count(root: Tag, info: Ctx) -> int | None:
        return shown(info, getattr(root.usage, source), "tag", root.usage.tag_id, source)

    return count


@strawberry.type(
    description="A tag of the taxonomy with how many users hold it now, by source (for roles below "
    "admin each count is rounded with a little noise, and null under the k-anonymity floor)."
)
class Tag:
    tag_id: strawberry.ID
    name: str
    tier: str
    parent_id: str | None
    synonyms: list[str]
    description: str | None
    users: int | None = strawberry.field(resolver=_tag_count("users"))
    manual: int | None = strawberry.field(resolver=_tag_count("manual"))
    rule: int | None = strawberry.field(resolver=_tag_count("rule"))
    model: int | None = strawberry.field(resolver=_tag_count("model"))
    expired: int | None = strawberry.field(resolver=_tag_count("expired"))
    usage: strawberry.Private[taxonomy.TagUsage]

    @staticmethod
    def of(t: taxonomy.TagUsage) -> Tag:
        return from_record(Tag, t, synonyms=list(t.synonyms), usage=t)

"""The tag taxonomy: tags with tier, parent and synonyms, manual tagging, and usage counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from personagraph.graph.audiences.service import refresh_user_membership
from personagraph.graph.changes.log import NewChange, record_changes
from personagraph.graph.errors import NotFoundError, PersonaGraphError
from personagraph.graph.kinds import TagSource, TagTier
from personagraph.graph.privacy.forget import ensure_not_suppressed
from personagraph.graph.spreadsheet import id_problem
from personagraph.graph.store import GraphStore
from personagraph.graph.times import utc, utc_or_now

TIERS = tuple(t.value for t in TagTier)
HAND_SOURCES = (TagSource.MANUAL.value, TagSource.MODEL.value)  # what tag_user may write; rules own 'rule'


class TagInputError(PersonaGraphError):
    """A tag or tagging request has a value that cannot work (bad tier, weight, cycle, clashing synonym)."""


class Tag(BaseModel):
    """One tag of the taxonomy."""

    model_config = ConfigDict(frozen=True)

    tag_id: str
    name: str
    tier: str
    parent_id: str | None = None
    synonyms: tuple[str, ...] = ()
    description: str | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Tag:
        return cls(
            tag_id=r["tagId"],
            name=r["name"] or r["tagId"],
            tier=r["tier"] or "",
            parent_id=r["parentId"],
            synonyms=tuple(r["synonyms"]),
            description=r["description"],
        )


class TagUsage(Tag):
    """A tag with how many users hold it now (expired edges counted apart), by source."""

    users: int = 0
    manual: int = 0
    rule: int = 0
    model: int = 0
    expired: int = 0


class UserTagChange(BaseModel):
    """What a manual tag or untag did."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    tag_id: str
    created: bool = False  # tag_user: the user did not hold the tag before
    removed: tuple[str, ...] = ()  # untag_user: the sources of the edges removed (empty: held nothing)


def _tier(tier: str) -> str:
    value = str(tier).strip().lower()
    if value not in TIERS:
        raise TagInputError(f"tier: {tier!r} is not a tag tier; expected one of {', '.join(TIERS)}")
    return value


def _clean_synonyms(tag_id: str, synonyms: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in synonyms:
        value = " ".join(str(raw).split())
        if not value:
            raise TagInputError(f"synonyms: {raw!r} is blank; expected a non-empty name")
        if value.lower() != tag_id.lower() and value.lower() not in {s.lower() for s in cleaned}:
            cleaned.append(value)
    return cleaned


def _check_parent(store: GraphStore, tag_id: str, parent_id: str) -> None:
    """The parent must exist, and the tag must not be the parent or above it (no cycles)."""
    record = store.read("tags/read/tags_ancestors", tagId=parent_id)[0]
    if not record["found"]:
        raise NotFoundError(f"parent_id: no tag {parent_id!r}; create the parent tag first")
    if tag_id in record["ancestors"]:
        raise TagInputError(
            f"parent_id: {parent_id!r} is {tag_id!r} or below it; a tag cannot be its own ancestor"
        )


def _check_synonyms(store: GraphStore, tag_id: str, synonyms: list[str]) -> None:
    """A synonym names one tag only, so lookups by synonym are unambiguous."""
    names = sorted({s.lower() for s in synonyms})
    if not names:
        return
    clashes = store.read("tags/read/tags_synonym_owners", tagId=tag_id, names=names)
    if clashes:
        name, owner = clashes[0]["name"], clashes[0]["tagId"]
        raise TagInputError(f"synonyms: {name!r} already names tag {owner!r}; expected an unused name")


def upsert_tag(
    store: GraphStore,
    *,
    tag_id: str,
    name: str,
    tier: str,
    parent_id: str | None = None,
    synonyms: Iterable[str] = (),
    description: str | None = None,
) -> Tag:
    """Create or replace a tag's definition (name, tier, parent, synonyms, description) as given."""
    tag_id = tag_id.strip()
    if not tag_id:
        raise TagInputError("tag_id: '' is blank; expected a non-empty id")
    for field, value in (("tag_id", tag_id), ("parent_id", parent_id or "")):
        problem = id_problem(value)
        if problem:
            raise TagInputError(f"{field}: {value!r} {problem}")
    if not name.strip():
        raise TagInputError(f"name: {name!r} is blank; expected a display name for tag {tag_id!r}")
    clean_tier = _tier(tier)
    words = _clean_synonyms(tag_id, synonyms)
    if parent_id:
        _check_parent(store, tag_id, parent_id)
    _check_synonyms(store, tag_id, words)
    props: dict[str, Any] = {
        "name": name.strip(),
        "tier": clean_tier,
        "synonyms": words,
        "description": description.strip() if description else None,
    }
    store.write_returning("tags/write/tags_upsert", tagId=tag_id, props=props, parentId=parent_id or None)
    return Tag(
        tag_id=tag_id,
        name=props["name"],
        tier=clean_tier,
        parent_id=parent_id or None,
        synonyms=tuple(words),
        description=props["description"],
    )


def find_tags(store: GraphStore, text: str) -> list[Tag]:
    """Tags a text names: the tag with that id first, then tags having it as a synonym."""
    return [Tag.from_record(r) for r in store.read("tags/read/tags_find", text=text.strip())]


def resolve_tag(store: GraphStore, text: str) -> Tag:
    """The one tag an id or synonym names; NotFoundError when none does."""
    found = find_tags(store, text)
    if not found:
        raise NotFoundError(f"tag_id: no tag with id or synonym {text!r}")
    return found[0]


def tag_user(
    store: GraphStore,
    *,
    user_id: str,
    tag_id: str,
    weight: float = 1.0,
    expires_at: datetime | None = None,
    source: str = TagSource.MANUAL.value,
    suppression_key: bytes | None = None,
) -> UserTagChange:
    """Give a user a tag by hand (or from a model); rules never touch such an edge afterwards.

    With ``suppression_key``, a user who asked to be forgotten is refused (SuppressedUserError). The tag
    change (cause ``source``) and the saved audiences the user enters or leaves because of it are recorded
    in the change log before this returns, as a fold records an event's (subscriptions, webhooks).
    """
    if not 0.0 <= weight <= 1.0:
        raise TagInputError(f"weight: {weight!r} is out of range; expected a number from 0 to 1")
    if source not in HAND_SOURCES:
        raise TagInputError(
            f"source: {source!r} cannot be set by hand; expected one of {', '.join(HAND_SOURCES)}"
        )
    if suppression_key is not None:
        ensure_not_suppressed(store, suppression_key, [user_id])
    tag = resolve_tag(store, tag_id)
    records = store.write_returning(
        "tags/write/tags_tag_user",
        userId=user_id,
        tagId=tag.tag_id,
        weight=float(weight),
        source=source,
        assignedAt=datetime.now(UTC),
        expiresAt=utc(expires_at) if expires_at is not None else None,
    )
    if not records:
        raise NotFoundError(f"user_id: no user with id {user_id!r}")
    created = bool(records[0]["created"])
    _changed(store, user_id, tag.tag_id, "added" if created else "updated", source)
    return UserTagChange(user_id=user_id, tag_id=tag.tag_id, created=created)


def untag_user(store: GraphStore, *, user_id: str, tag_id: str) -> UserTagChange:
    """Take a tag from a user, whatever assigned it (a rule may give it back on its next refresh). When the
    user had it, the removal (cause ``manual``) and the saved audiences it makes them enter or leave are
    recorded in the change log before this returns."""
    tag = resolve_tag(store, tag_id)
    records = store.write_returning("tags/write/tags_untag_user", userId=user_id, tagId=tag.tag_id)
    if not records:
        raise NotFoundError(f"user_id: no user with id {user_id!r}")
    removed = tuple(records[0]["removed"])
    if removed:
        _changed(store, user_id, tag.tag_id, "removed", TagSource.MANUAL.value)
    return UserTagChange(user_id=user_id, tag_id=tag.tag_id, removed=removed)


def _changed(store: GraphStore, user_id: str, tag_id: str, change: str, cause: str) -> None:
    """A direct tag change into the change log, then the saved-audience entries and exits it causes."""
    record_changes(store, [NewChange(user_id, "tag", tag_id, change, cause)])
    refresh_user_membership(store, user_id, cause=cause)


def list_tags(store: GraphStore, *, tier: str | None = None, as_of: datetime | None = None) -> list[TagUsage]:
    """Every tag (or one tier's), ordered by tier and id, with how many users hold it at `as_of` (now)."""
    wanted = _tier(tier) if tier is not None else None
    records = store.read("tags/read/tags_list", tier=wanted, now=utc_or_now(as_of))
    return [
        TagUsage(
            **Tag.from_record(r).model_dump(),
            users=r["users"],
            manual=r["manual"],
            rule=r["rule"],
            model=r["model"],
            expired=r["expired"],
        )
        for r in records
    ]

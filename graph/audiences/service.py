"""Run audience definitions: count, page through members, break down, export, save and refresh."""

from __future__ import annotations

import csv
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from neo4j import Record
from pydantic import BaseModel, ConfigDict

from personagraph.graph.analytics.lookalikes import Lookalike, ranked
from personagraph.graph.audiences.compile import (
    Statement,
    breakdown_statement,
    count_statement,
    members_statement,
    membership_statement,
    sample_statement,
)
from personagraph.graph.audiences.model import AudienceError, Condition, definition_tag_ids
from personagraph.graph.audiences.parse import definition_json, parse_definition
from personagraph.graph.audiences.reads import Touched, reads
from personagraph.graph.changes.log import NewChange, record_changes
from personagraph.graph.errors import NotFoundError
from personagraph.graph.ids import existing_ids
from personagraph.graph.kinds import PURPOSES, Purpose
from personagraph.graph.paging import check_first, decode_key, encode_cursor
from personagraph.graph.spreadsheet import csv_row, id_problem
from personagraph.graph.store import GraphStore
from personagraph.graph.times import aware

log = logging.getLogger(__name__)

DefinitionInput = Condition | Mapping[str, Any] | str | bytes
MAX_PAGE = 1000  # members per page
EXPORT_PAGE = 10_000
HISTORY_CAP = 50  # count history entries kept per saved audience
MAX_AUDIENCE_ID = 200  # characters: the id is a uniquely indexed key (Neo4j refuses entries over ~8 kB)
MEMBERS = "audience members"  # the list member cursors page (graph/paging.py)


@dataclass(frozen=True)
class AudienceCount:
    """Members the purpose may use, and members it leaves out for consent."""

    count: int
    excluded_by_consent: int


@dataclass(frozen=True)
class MembersPage:
    """One keyset page of member ids in userId order; pass ``end_cursor`` as ``after`` for the next."""

    users: list[str]
    end_cursor: str | None
    has_next: bool


class SavedAudience(BaseModel):
    """A stored definition with its owner and recent counts (oldest first)."""

    model_config = ConfigDict(frozen=True)

    audience_id: str
    name: str
    owner: str
    purpose: str
    definition: Condition
    counts: list[int]
    counted_at: list[datetime]


@dataclass(frozen=True)
class AudienceRefresh:
    """One saved audience after a refresh: its new count, or one user's membership."""

    audience_id: str
    count: int | None = None  # a full refresh
    member: bool | None = None  # a refresh for one user


def _purpose(purpose: str) -> Purpose:
    if purpose not in PURPOSES:
        raise AudienceError(f"purpose {purpose!r} is not one of {', '.join(PURPOSES)}")
    return Purpose(purpose)


def _definition(definition: DefinitionInput) -> Condition:
    return parse_definition(definition)


def _read(store: GraphStore, statement: Statement, **params: Any) -> list[Record]:
    """Run a compiled statement through the store: a read transaction (routable to cluster secondaries)
    under the store's one transaction timeout (the API's ``PERSONA_API_QUERY_TIMEOUT_S``), a statement
    stopped there raising QueryTimeoutError (TIMEOUT in the API) like any catalog read."""
    return store.read_statement(statement, **params)


def count_audience(
    store: GraphStore, definition: DefinitionInput, *, purpose: Purpose = Purpose.MARKETING
) -> AudienceCount:
    """How many users the purpose may reach, counted in Neo4j without collecting them."""
    record = _read(store, count_statement(_definition(definition), _purpose(purpose)))[0]
    total, excluded = int(record["total"]), int(record["excluded"])
    return AudienceCount(count=total - excluded, excluded_by_consent=excluded)


def definition_warnings(store: GraphStore, definition: DefinitionInput) -> list[str]:
    """What a definition names that the graph lacks, so that part of it matches no one: a tag id no tag
    has (a typo, or a synonym: conditions name tags by id). The definition still runs; callers show these
    beside the answer (the CLI on stderr, the API as ``Audience.warnings``)."""
    wanted = sorted(definition_tag_ids(_definition(definition)))
    if not wanted:
        return []
    found = existing_ids(store, "tags", wanted)
    return [
        f"tagId {tag_id!r}: no tag has this id, so its condition matches no one"
        for tag_id in wanted
        if tag_id not in found
    ]


def member_cursor(user_id: str) -> str:
    """The opaque cursor of one member: the next page starts after them."""
    return encode_cursor(MEMBERS, user_id)


def audience_members(
    store: GraphStore,
    definition: DefinitionInput,
    *,
    first: int = 50,
    after: str | None = None,
    purpose: Purpose = Purpose.MARKETING,
) -> MembersPage:
    """A page of members by userId (keyset: users added meanwhile never shift or repeat a page). A
    cursor member_cursor did not issue is refused (InvalidPageError, like every list's)."""
    first = check_first(first, cap=MAX_PAGE)
    start = decode_key(MEMBERS, after or None)  # '' (no cursor) sorts before every id
    statement = members_statement(_definition(definition), _purpose(purpose), first_page=not start)
    users = [r["userId"] for r in _read(store, statement, after=start, limit=first + 1)]
    page = users[:first]
    return MembersPage(page, member_cursor(page[-1]) if page else None, len(users) > first)


def _pages(store: GraphStore, statement: Statement, page_size: int) -> Iterator[list[Record]]:
    """Every member, page by page, with one compiled statement (one `now` for the whole walk)."""
    after = ""
    while True:
        records = _read(store, statement, after=after, limit=page_size)
        if records:
            yield records
        if len(records) < page_size:
            return
        after = records[-1]["userId"]


def breakdown(
    store: GraphStore, definition: DefinitionInput, *, by: str, purpose: Purpose = Purpose.ANALYSIS
) -> list[tuple[Any, int]]:
    """Members per value of an allow-listed field (None = no value), largest first; sums to the count."""
    statement = breakdown_statement(_definition(definition), by, _purpose(purpose))
    return [(r["value"], int(r["users"])) for r in _read(store, statement)]


def export_csv(
    store: GraphStore,
    definition: DefinitionInput,
    out: Path | TextIO,
    *,
    purpose: Purpose = Purpose.MARKETING,
    columns: tuple[str, ...] = (),
    page_size: int = EXPORT_PAGE,
) -> int:
    """Write members (user_id and any allow-listed columns) as CSV, streaming page by page. A cell a
    spreadsheet would run as a formula (a city of ``=HYPERLINK(...)``) is written with a leading ``'``
    (graph/spreadsheet.py)."""
    statement = members_statement(_definition(definition), _purpose(purpose), columns=columns)
    if isinstance(out, Path):
        with out.open("w", encoding="utf-8", newline="") as handle:
            return _write_csv(store, statement, handle, columns, page_size)
    return _write_csv(store, statement, out, columns, page_size)


def _write_csv(
    store: GraphStore, statement: Statement, handle: TextIO, columns: tuple[str, ...], page_size: int
) -> int:
    writer = csv.writer(handle)
    writer.writerow(["user_id", *columns])
    rows = 0
    for records in _pages(store, statement, page_size):
        writer.writerows(csv_row([r["userId"], *(r[c] for c in columns)]) for r in records)
        rows += len(records)
    return rows


def _saved(props: Mapping[str, Any]) -> SavedAudience:
    return SavedAudience(
        audience_id=props["audienceId"],
        name=props.get("name") or props["audienceId"],
        owner=props.get("owner") or "",
        purpose=props.get("purpose") or Purpose.MARKETING.value,
        definition=parse_definition(props["definition"]),
        counts=list(props.get("counts") or []),
        counted_at=[aware(t) for t in props.get("countedAt") or []],
    )


def saved_audiences(store: GraphStore, *, audience_ids: list[str] | None = None) -> list[SavedAudience]:
    """Saved audiences, all or the ids given, by id."""
    records = store.read("audiences/read/audience_list", audienceIds=audience_ids)
    return [_saved(r["audience"]) for r in records]


def saved_audience(store: GraphStore, audience_id: str) -> SavedAudience:
    """One saved audience; NotFoundError when there is none with that id."""
    found = saved_audiences(store, audience_ids=[audience_id])
    if not found:
        raise NotFoundError(f"no saved audience {audience_id!r}")
    return found[0]


def save_audience(
    store: GraphStore,
    *,
    audience_id: str,
    name: str,
    definition: DefinitionInput,
    owner: str,
    purpose: Purpose = Purpose.MARKETING,
) -> SavedAudience:
    """Store the definition, count it, record the count and materialise membership (IN_AUDIENCE)."""
    if not audience_id.strip() or len(audience_id) > MAX_AUDIENCE_ID:
        raise AudienceError(
            f"id: expected 1 to {MAX_AUDIENCE_ID} characters, not blank; got {len(audience_id)} characters"
        )
    problem = id_problem(audience_id.strip())
    if problem:
        raise AudienceError(f"id: {audience_id!r} {problem}")
    root = _definition(definition)
    counted = count_audience(store, root, purpose=purpose)
    records = store.write_returning(
        "audiences/write/audience_save",
        audienceId=audience_id,
        name=name,
        owner=owner,
        purpose=purpose,
        definition=definition_json(root),
        count=counted.count,
        countedAt=datetime.now(UTC),
        cap=HISTORY_CAP,
    )
    _write_membership(store, audience_id, root, purpose)
    return _saved(records[0]["audience"])


def _write_membership(store: GraphStore, audience_id: str, root: Condition, purpose: Purpose) -> int:
    """Rewrite one saved audience's IN_AUDIENCE edges: stamp every current member, drop the rest."""
    stamp = uuid.uuid4().hex
    members = 0
    for records in _pages(store, members_statement(root, purpose), EXPORT_PAGE):
        ids = [r["userId"] for r in records]
        store.write("audiences/write/audience_add_members", audienceId=audience_id, userIds=ids, stamp=stamp)
        members += len(ids)
    store.write("audiences/write/audience_drop_stale_members", audienceId=audience_id, stamp=stamp)
    return members


def refresh_saved_audiences(store: GraphStore, *, user_id: str | None = None) -> list[AudienceRefresh]:
    """Re-evaluate saved audiences: all members and a new count entry, or (user_id) one user's membership.

    A one-user refresh suits a change to that user's profile; it does not revisit other users whose
    membership depends on them (friends, followers, referrals): a full refresh does.
    """
    results: list[AudienceRefresh] = []
    for saved in saved_audiences(store):
        purpose = _purpose(saved.purpose)
        if user_id is None:
            members = _write_membership(store, saved.audience_id, saved.definition, purpose)
            store.write(
                "audiences/write/audience_record_count",
                audienceId=saved.audience_id,
                count=members,
                countedAt=datetime.now(UTC),
                cap=HISTORY_CAP,
            )
            results.append(AudienceRefresh(saved.audience_id, count=members))
        else:
            member = user_id in members_among(store, saved.definition, [user_id], purpose=purpose)
            _set_members_among(store, saved.audience_id, [user_id], {user_id} if member else set())
            results.append(AudienceRefresh(saved.audience_id, member=member))
    return results


@dataclass(frozen=True)
class MembershipChange:
    """A user who entered or left a saved audience."""

    audience_id: str
    user_id: str
    change: Literal["entered", "exited"]


def refresh_membership(
    store: GraphStore, user_ids: Sequence[str], *, touched: Touched | None = None
) -> list[MembershipChange]:
    """Re-evaluate every saved audience for the given users only, after their profiles changed: per
    audience one membership read and one write, whatever the number of users. Like a one-user refresh,
    it does not revisit other users whose membership depends on them (friends, followers, referrals).

    With ``touched`` (what a fold changed, per user), an audience is re-evaluated only for the users whose
    changes it reads (graph/audiences/reads.py), and skipped when there are none."""
    ids = sorted(set(user_ids))
    changes: list[MembershipChange] = []
    if not ids:
        return changes
    for saved in saved_audiences(store):
        root = _definition(saved.definition)
        among = ids if touched is None else sorted(touched.users_for(reads(root)) & set(ids))
        if not among:
            continue
        members = members_among(store, root, among, purpose=_purpose(saved.purpose))
        changes += _set_members_among(store, saved.audience_id, among, members)
    return changes


def refresh_user_membership(
    store: GraphStore, user_id: str, *, cause: str, cause_ids: tuple[str, ...] = ()
) -> list[MembershipChange]:
    """Re-evaluate every saved audience for one user after a direct write to them (a consent statement,
    a profile update) and record each entry or exit in the change log, as a fold records an event's:
    subscribers and webhooks learn of it (a consent withdrawal must reach whoever syncs the audience)."""
    changes = refresh_membership(store, [user_id])
    record_changes(
        store, [NewChange(c.user_id, "audience", c.audience_id, c.change, cause, cause_ids) for c in changes]
    )
    return changes


def _set_members_among(
    store: GraphStore, audience_id: str, user_ids: list[str], members: set[str]
) -> list[MembershipChange]:
    records = store.write_returning(
        "audiences/write/audience_set_members_among",
        audienceId=audience_id,
        rows=[{"userId": user, "member": user in members} for user in user_ids],
    )
    return [MembershipChange(audience_id, r["userId"], r["change"]) for r in records]


def members_among(
    store: GraphStore,
    definition: DefinitionInput,
    user_ids: list[str],
    *,
    purpose: Purpose = Purpose.MARKETING,
) -> set[str]:
    """Which of the given users are members the purpose may use (one predicate per given user)."""
    return {
        r["userId"] for r in _membership(store, definition, user_ids, purpose) if r["member"] and r["allowed"]
    }


def allowed_among(
    store: GraphStore,
    definition: DefinitionInput,
    user_ids: list[str],
    *,
    purpose: Purpose = Purpose.MARKETING,
) -> set[str]:
    """Which of the given users the purpose may use (their consent, as member lists apply it), members
    or not: a change of their membership may be shown for that purpose (api/types/changes.py)."""
    return {r["userId"] for r in _membership(store, definition, user_ids, purpose) if r["allowed"]}


def _membership(
    store: GraphStore, definition: DefinitionInput, user_ids: list[str], purpose: Purpose
) -> list[Record]:
    statement = membership_statement(_definition(definition), _purpose(purpose))
    return _read(store, statement, ids=user_ids)


def expand_lookalike(
    store: GraphStore,
    definition: DefinitionInput,
    *,
    first: int = 20,
    sample: int = 200,
    purpose: Purpose = Purpose.MARKETING,
) -> list[Lookalike]:
    """Users most like the audience (seeded by a random sample of its members), members left out."""
    first = check_first(first)
    root = _definition(definition)
    purpose = _purpose(purpose)
    seeds = [r["userId"] for r in _read(store, sample_statement(root, purpose), limit=sample)]
    if not seeds:
        return []
    wanted = first * 2 + 10
    while True:
        found = ranked(store, seed_user_ids=seeds, first=wanted)
        flags = _read(store, membership_statement(root, purpose), ids=[f.user_id for f in found])
        drop = {r["userId"] for r in flags if r["member"] or not r["allowed"]}
        kept = [f for f in found if f.user_id not in drop]
        if len(kept) >= first or len(found) < wanted or wanted >= 20 * first + 1000:
            return kept[:first]
        wanted *= 4

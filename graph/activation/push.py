"""Push a saved audience to an ad platform: its members with advertising consent, as the platform's upload
files, in full or as a diff against the last push of the same audience to the same platform.

Only members whose ``advertisingConsent`` is true and whose identities carry the platform's match keys
are sent; fewer than ``k`` such people (the deployment's k-anonymity floor, ``PERSONA_PRIVACY_K``) and
nothing is written (``PushRefusedError``). Each push is recorded as an ``(:AudiencePush)`` with what it
sent per user (``SENT {keys}``, the base of the next diff) and is audited (graph/audit.py), refusals too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from personagraph.graph.activation.platforms import Platform, WrittenFile, platform_keys, write_files
from personagraph.graph.audiences.model import Condition
from personagraph.graph.audiences.service import audience_members, saved_audience
from personagraph.graph.audit import AuditEntry, AuditLog
from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.kinds import Purpose
from personagraph.graph.store import GraphStore
from personagraph.graph.times import utc

log = logging.getLogger(__name__)

PAGE = 1000  # members read per page (the audience service's largest page)
SENT_BATCH = 2000


class PushRefusedError(PersonaGraphError, ValueError):
    """A push that may not go out: under the k floor, or an unknown platform; the message says why."""


@dataclass(frozen=True)
class PushReport:
    """One push: what was sent and where the files are. ``users`` is how many people the files hold;
    ``members`` how many the saved audience has with advertising consent (some may have no key the
    platform takes); ``added`` / ``removed`` count keys against the previous push (all added when none)."""

    push_id: str
    audience_id: str
    platform: Platform
    mode: str  # full | diff
    at: datetime
    actor: str
    members: int
    users: int
    keys: int
    added: int
    removed: int
    previous_push_id: str | None
    folder: Path
    files: list[WrittenFile] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people: who, how many, what changed, where."""
        change = f"+{self.added} -{self.removed} keys since {self.previous_push_id or 'nothing (first push)'}"
        return (
            f"pushed {self.audience_id} to {self.platform.value} ({self.mode}): {self.users} people, "
            f"{self.keys} keys, {change}; {len(self.files)} files in {self.folder}"
        )


def platform_of(name: str) -> Platform:
    """The platform named (google, meta, tencent, oceanengine); PushRefusedError for anything else."""
    try:
        return Platform(name.strip().lower())
    except ValueError:
        raise PushRefusedError(
            f"platform: {name!r} is not a platform; expected one of {', '.join(p.value for p in Platform)}"
        ) from None


def push_audience(
    store: GraphStore,
    *,
    audience_id: str,
    platform: Platform,
    out: Path,
    diff: bool,
    k: int,
    actor: str,
    role: str,
    audit: AuditLog,
    progress: Callable[[int], None] | None = None,
) -> PushReport:
    """Write ``platform``'s upload files for the saved audience into ``out`` and record the push.

    ``diff``: files of the keys to add and to remove since the last push of this audience to this
    platform (on a first push, every key is an add); else the full files. NotFoundError for an unknown
    audience; PushRefusedError (audited) when fewer than ``k`` people would be sent. ``progress`` is
    called with the members read so far."""
    saved = saved_audience(store, audience_id)
    members, current = _current_keys(store, saved.definition, platform, progress)
    users = len(current)
    if users < k:
        audit.record(
            AuditEntry(
                actor=actor,
                role=role,
                action="push-refused",
                what=f"audience push {platform.value}",
                details={"audienceId": audience_id, "platform": platform.value, "k": k},
            )
        )
        raise PushRefusedError(
            f"audience {audience_id!r}: fewer than k={k} people with advertising consent and a key "
            f"{platform.value} takes; nothing was written (the k-anonymity floor, PERSONA_PRIVACY_K)"
        )
    previous = store.read("activation/read/push_last", audienceId=audience_id, platform=platform.value)
    previous_id = str(previous[0]["pushId"]) if previous else None
    sent = dict(_sent(store, previous_id)) if previous_id else {}
    adds, removes = _diff(sent, current)
    push_id = uuid.uuid4().hex
    at = datetime.now(UTC)
    if diff:
        files = write_files(platform, adds, out, part="add") + write_files(
            platform, removes, out, part="remove"
        )
    else:
        files = write_files(platform, current, out, part="full")
    report = PushReport(
        push_id=push_id,
        audience_id=audience_id,
        platform=platform,
        mode="diff" if diff else "full",
        at=at,
        actor=actor,
        members=members,
        users=users,
        keys=sum(len(keys) for keys in current.values()),
        added=sum(len(keys) for keys in adds.values()),
        removed=sum(len(keys) for keys in removes.values()),
        previous_push_id=previous_id,
        folder=out,
        files=files,
    )
    _record(store, report, current)
    audit.record(
        AuditEntry(
            actor=actor,
            role=role,
            action="push",
            what=f"audience push {platform.value}",
            rows=users,
            details={
                "audienceId": audience_id,
                "platform": platform.value,
                "pushId": push_id,
                "mode": report.mode,
                "keys": report.keys,
                "added": report.added,
                "removed": report.removed,
                "previousPushId": previous_id,
                "files": [f.path.name for f in files],
            },
        )
    )
    log.info("%s", report.summary())
    return report


def _current_keys(
    store: GraphStore, definition: Condition, platform: Platform, progress: Callable[[int], None] | None
) -> tuple[int, dict[str, list[str]]]:
    """How many members have advertising consent, and the platform's keys of those that have any."""
    after: str | None = None
    members = 0
    current: dict[str, list[str]] = {}
    while True:
        page = audience_members(store, definition, first=PAGE, after=after, purpose=Purpose.ADVERTISING)
        members += len(page.users)
        if page.users:
            for record in store.read("activation/read/push_member_keys", userIds=page.users):
                keys = platform_keys(platform, record["keys"])
                if keys:
                    current[str(record["userId"])] = keys
        if progress is not None:
            progress(members)
        if not page.has_next:
            return members, current
        after = page.end_cursor


def _sent(store: GraphStore, push_id: str) -> Iterator[tuple[str, list[str]]]:
    after = ""
    while True:
        records = store.read("activation/read/push_sent", pushId=push_id, after=after, limit=PAGE)
        for record in records:
            yield str(record["userId"]), list(record["keys"])
        if len(records) < PAGE:
            return
        after = str(records[-1]["userId"])


def _diff(
    before: dict[str, list[str]], now: dict[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per user, the keys to add (in ``now``, not sent before) and to remove (sent, no longer in ``now``)."""
    adds: dict[str, list[str]] = {}
    removes: dict[str, list[str]] = {}
    for user in before.keys() | now.keys():
        old, new = set(before.get(user, ())), set(now.get(user, ()))
        if new - old:
            adds[user] = sorted(new - old)
        if old - new:
            removes[user] = sorted(old - new)
    return adds, removes


def _record(store: GraphStore, report: PushReport, current: dict[str, list[str]]) -> None:
    store.write(
        "activation/write/push_record",
        push={
            "pushId": report.push_id,
            "audienceId": report.audience_id,
            "platform": report.platform.value,
            "mode": report.mode,
            "at": utc(report.at),
            "actor": report.actor,
            "previousPushId": report.previous_push_id,
            "members": report.members,
            "users": report.users,
            "keys": report.keys,
            "added": report.added,
            "removed": report.removed,
            "files": [f.path.name for f in report.files],
            "folder": str(report.folder),
        },
    )
    rows = [{"userId": user, "keys": keys} for user, keys in sorted(current.items())]
    store.write_batches("activation/write/push_sent", rows, batch_size=SENT_BATCH, pushId=report.push_id)
    store.write(
        "activation/write/push_prune_sent",
        audienceId=report.audience_id,
        platform=report.platform.value,
        pushId=report.push_id,
    )


@dataclass(frozen=True)
class PushRecord:
    """A recorded push, as the history lists it."""

    push_id: str
    audience_id: str
    platform: str
    mode: str
    at: datetime
    actor: str
    users: int
    keys: int
    added: int
    removed: int
    files: list[str]


def push_history(store: GraphStore, *, audience_id: str | None = None, first: int = 20) -> list[PushRecord]:
    """The latest pushes, newest first (of one audience when given)."""
    return [
        PushRecord(
            push_id=p["pushId"],
            audience_id=p["audienceId"],
            platform=p["platform"],
            mode=p["mode"],
            at=utc(p["at"].to_native()),
            actor=p["actor"],
            users=p["users"],
            keys=p["keys"],
            added=p["added"],
            removed=p["removed"],
            files=list(p["files"]),
        )
        for p in (
            r["push"] for r in store.read("activation/read/push_history", audienceId=audience_id, limit=first)
        )
    ]


__all__ = [
    "PushRecord",
    "PushRefusedError",
    "PushReport",
    "platform_of",
    "push_audience",
    "push_history",
]

"""The change log, kept in Neo4j beside what changed.

Each change is a ``(:Change)`` node with a cursor (``seq``) handed out in commit order by
``changes/write/changes_append``: the writer that records changes holds the sequence's lock until it
commits, so a reader that has seen cursor n has seen every change before it, and a subscriber that
resumes after its last cursor misses nothing. Writers record their changes in the same transaction as
the writes themselves (GraphStore.in_transaction), so a change is in the log exactly when it happened.

Changes are kept for ``PERSONA_CHANGES_KEEP_DAYS`` (:func:`prune_changes`); a forgotten user's go with
them (graph/privacy/forget.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from personagraph.graph.store import GraphStore
from personagraph.graph.times import aware

ChangeKind = Literal["tag", "audience", "profile"]
KINDS: tuple[ChangeKind, ...] = ("tag", "audience", "profile")
PRUNE_BATCH = 10_000


@dataclass(frozen=True)
class NewChange:
    """A change about to be recorded: what changed for whom, and why."""

    user_id: str
    kind: ChangeKind
    subject: str  # the tag id, the audience id, or the profile field
    change: str  # tag: added|removed|updated; audience: entered|exited; profile: changed
    cause: str  # event, rule, manual, run, ...
    cause_ids: tuple[str, ...] = ()  # the events (message ids) or run that caused it
    rule_id: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "userId": self.user_id,
            "kind": self.kind,
            "subject": self.subject,
            "change": self.change,
            "cause": self.cause,
            "causeIds": list(self.cause_ids),
            "ruleId": self.rule_id,
        }


@dataclass(frozen=True)
class Change(NewChange):
    """A recorded change, with its cursor and when it was recorded."""

    seq: int = 0
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> Change:
        return cls(
            user_id=props["userId"],
            kind=props["kind"],
            subject=props["subject"],
            change=props["change"],
            cause=props["cause"],
            cause_ids=tuple(props.get("causeIds") or ()),
            rule_id=props.get("ruleId"),
            seq=props["seq"],
            at=aware(props["at"]),
        )


def record_changes(store: GraphStore, changes: Iterable[NewChange]) -> range:
    """Append changes to the log (in the caller's transaction when ``store`` is bound to one); the cursors
    they got, an empty range when there were none."""
    rows = [c.row() for c in changes]
    if not rows:
        return range(0)
    found = store.write_returning("changes/write/changes_append", changes=rows, at=datetime.now(UTC))
    return range(found[0]["first"], found[0]["last"] + 1)


def changes_after(
    store: GraphStore,
    after: int,
    *,
    user_ids: Sequence[str] | None = None,
    subjects: Sequence[str] | None = None,
    kinds: Sequence[ChangeKind] | None = None,
    limit: int = 500,
) -> list[Change]:
    """Changes with a cursor above ``after``, oldest first, narrowed to users, subjects and kinds."""
    records = store.read(
        "changes/read/changes_after",
        after=after,
        userIds=list(user_ids) if user_ids is not None else None,
        subjects=list(subjects) if subjects is not None else None,
        kinds=list(kinds) if kinds is not None else None,
        limit=limit,
    )
    return [Change.of(r["change"]) for r in records]


def latest_cursor(store: GraphStore) -> int:
    """The cursor of the latest committed change, 0 when the log is empty."""
    return int(store.read("changes/read/changes_latest")[0]["latest"])


def prune_changes(store: GraphStore, *, before: datetime) -> int:
    """Drop changes recorded before ``before`` (in bounded transactions); how many went."""
    removed = 0
    while True:
        gone = store.write_returning("changes/write/changes_prune", before=before, limit=PRUNE_BATCH)
        count = int(gone[0]["removed"])
        removed += count
        if count < PRUNE_BATCH:
            return removed


__all__ = [
    "KINDS",
    "Change",
    "ChangeKind",
    "NewChange",
    "changes_after",
    "latest_cursor",
    "prune_changes",
    "record_changes",
]

"""What a webhook is, which changes it is sent, and the message one change becomes.

A webhook names the event types it wants (``tag.added``, ``audience.entered``, ...), optionally narrowed to
some audiences and tags. Each change of the change log (graph/changes/log.py) that it wants becomes one
message: a JSON body of ids only (never an attribute's value), under a ``webhook-id`` that is the same
every time that change is sent to that webhook, so a receiver can drop what it has seen (delivery is at
least once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from personagraph.graph.changes.log import Change, ChangeKind
from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.times import aware

# The event types, each the (kind, change) of the change log it stands for.
EVENT_TYPES: dict[str, tuple[ChangeKind, str]] = {
    "tag.added": ("tag", "added"),
    "tag.removed": ("tag", "removed"),
    "tag.updated": ("tag", "updated"),
    "audience.entered": ("audience", "entered"),
    "audience.exited": ("audience", "exited"),
    "profile.changed": ("profile", "changed"),
}
TYPE_OF: dict[tuple[str, str], str] = {pair: name for name, pair in EVENT_TYPES.items()}
# The body's name for a change's subject, by kind.
SUBJECT_FIELD: dict[str, str] = {"tag": "tagId", "audience": "audienceId", "profile": "field"}

DeliveryStatus = Literal["delivered", "retrying", "dead"]


class WebhookError(PersonaGraphError, ValueError):
    """A webhook or delivery asked for cannot be: the message names the argument and why."""


@dataclass(frozen=True)
class Webhook:
    """A registered webhook: where to POST, what to send, and how far through the change log it is."""

    webhook_id: str
    url: str
    events: tuple[str, ...]
    audience_ids: tuple[str, ...]  # empty: every audience
    tag_ids: tuple[str, ...]  # empty: every tag
    cursor: int  # every change up to here was delivered or dead-lettered
    created_at: datetime
    created_by: str
    retrying: Delivery | None = None  # the delivery it waits to retry, holding its cursor back

    @classmethod
    def of(cls, props: Mapping[str, Any], retrying: Mapping[str, Any] | None = None) -> Webhook:
        return cls(
            webhook_id=props["webhookId"],
            url=props["url"],
            events=tuple(props.get("events") or ()),
            audience_ids=tuple(props.get("audienceIds") or ()),
            tag_ids=tuple(props.get("tagIds") or ()),
            cursor=int(props.get("cursor") or 0),
            created_at=aware(props["createdAt"]),
            created_by=props.get("createdBy") or "",
            retrying=Delivery.of(retrying) if retrying else None,
        )

    def kinds(self) -> list[ChangeKind]:
        """The change kinds any of its event types stands for (what to read from the log)."""
        return sorted({EVENT_TYPES[e][0] for e in self.events})

    def subjects(self) -> list[str] | None:
        """The subjects to read from the log when every kind it wants is narrowed (None: any subject)."""
        narrowed = {"tag": self.tag_ids, "audience": self.audience_ids}
        kinds = self.kinds()
        if all(narrowed.get(kind) for kind in kinds):
            return sorted({s for kind in kinds for s in narrowed[kind]})
        return None

    def wants(self, change: Change) -> bool:
        """Whether this change is one of its event types, for its audiences and tags when it names some."""
        if TYPE_OF.get((change.kind, change.change)) not in self.events:
            return False
        if change.kind == "tag" and self.tag_ids:
            return change.subject in self.tag_ids
        if change.kind == "audience" and self.audience_ids:
            return change.subject in self.audience_ids
        return True


@dataclass(frozen=True)
class Message:
    """One change as sent to one webhook: its stable id (the dedupe id), cursor, user and JSON body."""

    message_id: str
    seq: int
    type: str
    user_id: str
    body: str


@dataclass(frozen=True)
class Delivery:
    """One message to one webhook as recorded: delivered, retrying (when next), or dead-lettered; with the
    HTTP status and error of its last attempt."""

    delivery_id: str  # the message's webhook-id
    webhook_id: str
    seq: int
    type: str
    user_id: str
    body: str
    status: DeliveryStatus
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    next_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, props: Mapping[str, Any]) -> Delivery:
        return cls(
            delivery_id=props["deliveryId"],
            webhook_id=props["webhookId"],
            seq=int(props["seq"]),
            type=props["type"],
            user_id=props["userId"],
            body=props["body"],
            status=props["status"],
            attempts=int(props.get("attempts") or 0),
            last_status=props.get("lastStatus"),
            last_error=props.get("lastError"),
            next_at=_time(props.get("nextAt")),
            created_at=_time(props.get("createdAt")),
            updated_at=_time(props.get("updatedAt")),
        )

    def attempted(self, status: int | None, error: str | None, *, retry_in: float | None) -> Delivery:
        """This delivery after one more attempt that answered ``status`` (None: no answer) with ``error``
        (None: delivered); a failure waits ``retry_in`` seconds for the next, or is dead when None."""
        if error is None:
            state: DeliveryStatus = "delivered"
            next_at = None
        elif retry_in is None:
            state, next_at = "dead", None
        else:
            state, next_at = "retrying", datetime.now(UTC) + timedelta(seconds=retry_in)
        return replace(
            self,
            status=state,
            attempts=self.attempts + 1,
            last_status=status,
            last_error=error,
            next_at=next_at,
        )

    @property
    def message(self) -> Message:
        return Message(self.delivery_id, self.seq, self.type, self.user_id, self.body)

    def row(self) -> dict[str, Any]:
        """The parameters deliveries_record writes."""
        return {
            "deliveryId": self.delivery_id,
            "seq": self.seq,
            "type": self.type,
            "userId": self.user_id,
            "body": self.body,
            "status": self.status,
            "attempts": self.attempts,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "nextAt": self.next_at,
        }


def _time(value: Any) -> datetime | None:
    return None if value is None else aware(value)


def message_id(webhook_id: str, seq: int) -> str:
    """The ``webhook-id`` of a change sent to a webhook: the same on every attempt and every re-send."""
    return f"msg_{webhook_id}_{seq}"


def message_of(webhook_id: str, change: Change) -> Message:
    """The message a change becomes: ids, the change and its cause; never an attribute's value."""
    kind = TYPE_OF[(change.kind, change.change)]
    data: dict[str, Any] = {
        "cursor": change.seq,
        "userId": change.user_id,
        SUBJECT_FIELD[change.kind]: change.subject,
        "change": change.change,
        "cause": change.cause,
        "causeIds": list(change.cause_ids),
        "ruleId": change.rule_id,
    }
    body = json.dumps(
        {"type": kind, "timestamp": change.at.isoformat(), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return Message(message_id(webhook_id, change.seq), change.seq, kind, change.user_id, body)


def checked_events(events: Sequence[str]) -> tuple[str, ...]:
    """The event types asked for, known ones only, each once; WebhookError naming the unknown ones."""
    asked = [e.strip() for e in events if e.strip()]
    unknown = sorted(set(asked) - set(EVENT_TYPES))
    if unknown or not asked:
        raise WebhookError(
            f"events: expected some of {', '.join(EVENT_TYPES)}; got {', '.join(unknown) or 'none'}"
        )
    return tuple(e for e in EVENT_TYPES if e in asked)


__all__ = [
    "EVENT_TYPES",
    "Delivery",
    "DeliveryStatus",
    "Message",
    "Webhook",
    "WebhookError",
    "checked_events",
    "message_id",
    "message_of",
]

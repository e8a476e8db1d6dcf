"""Record one behaviour event or one order as it happens, then re-evaluate that user's rule tags and their
saved-audience membership at once.

Each becomes the collector's envelope and is folded exactly as the folding worker folds a batch of them
(graph/events/fold.py): rows built by the loader's own record models, written by the loader's own
catalog statements (a recorded event is stored as if loaded from a file, and loading that file later
adds nothing), tags, membership and the change log in the same transaction. The API does the same through
the event log (api/collector.py); this is the direct way for code that holds a store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from personagraph.graph.errors import NotFoundError, PersonaGraphError, SuppressedUserError
from personagraph.graph.events.envelope import Envelope
from personagraph.graph.events.fold import fold
from personagraph.graph.events.journal import Entry, Outcome
from personagraph.graph.records import EventRecord, OrderLineRecord, RowContext
from personagraph.graph.settings import get_settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import TagCache
from personagraph.graph.tags.rule_file import RuleSet
from personagraph.graph.times import utc

OrderLine = tuple[str, int, float | Decimal | None]  # (sku, quantity, unit price; None = list price)


class EventInputError(PersonaGraphError):
    """An event or order given to record_* has a field that does not validate."""


class TagUpdate(BaseModel):
    """The user's rule tags that changed because of what was just recorded."""

    model_config = ConfigDict(frozen=True)

    tags_added: tuple[str, ...] = ()
    tags_removed: tuple[str, ...] = ()
    tags_updated: tuple[str, ...] = ()


class RecordedEvent(TagUpdate):
    user_id: str
    kind: str
    target: str
    event_key: str
    new: bool  # False when this event (same id or content) was already folded in


class RecordedOrder(TagUpdate):
    order_id: str
    user_id: str
    lines: int


def _invalid(error: ValidationError, what: str) -> EventInputError:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return EventInputError(f"{what} {where}: {first['msg']} (got {first['input']!r})")


def raise_rejection(outcome: Outcome) -> None:
    """The error a rejected fold outcome stands for (codes as the API names them); nothing when folded."""
    if outcome.status != "rejected":
        return
    reason = str(outcome.detail.get("reason"))
    code = outcome.detail.get("code")
    if code == "NOT_FOUND":
        raise NotFoundError(reason)
    if code == "SUPPRESSED":
        raise SuppressedUserError(reason, "userId")
    raise EventInputError(reason)


def fold_one(
    store: GraphStore,
    envelope: Envelope,
    *,
    rules: RuleSet | str | Path | None = None,
    as_of: datetime | None = None,
    cache: TagCache | None = None,
    suppression_key: bytes | None = None,
    timezone: str | None = None,
) -> Outcome:
    """Fold one envelope at once, as the folding worker folds a batch of them (no event log)."""
    report = fold(
        store,
        [Entry(1, envelope)],
        log_id=None,
        rules=rules,
        as_of=as_of,
        cache=cache,
        suppression_key=suppression_key,
        timezone=timezone,
    )
    return report.outcomes[0]


def _tag_update(detail: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(detail.get(name, ())) for name in ("tags_added", "tags_removed", "tags_updated")}


def recorded_event(envelope: Envelope, row: dict[str, Any], outcome: Outcome) -> RecordedEvent:
    """What recording an event did, from its fold's outcome (the error it stands for when rejected)."""
    raise_rejection(outcome)
    assert envelope.event is not None
    return RecordedEvent(
        user_id=envelope.user_id,
        kind=str(envelope.event["kind"]),
        target=row["target"],
        event_key=row["key"],
        new=bool(outcome.detail.get("new")),
        **_tag_update(outcome.detail),
    )


def recorded_order(envelope: Envelope, outcome: Outcome) -> RecordedOrder:
    """What recording an order did, from its fold's outcome (the error it stands for when rejected)."""
    raise_rejection(outcome)
    assert envelope.order is not None
    return RecordedOrder(
        order_id=envelope.order["order_id"],
        user_id=envelope.user_id,
        lines=len(envelope.order["lines"]),
        **_tag_update(outcome.detail),
    )


def event_envelope(
    *,
    user_id: str,
    kind: str,
    at: datetime | str,
    target: str,
    event_id: str | None = None,
    channel_id: str | None = None,
    timezone: str | None = None,
) -> tuple[Envelope, dict[str, Any]]:
    """One behaviour event as the collector's envelope (its message id: the event id, or the event's key,
    so sending the same event twice records it once), with the loader's row for it."""
    try:
        record = EventRecord.model_validate(
            {
                "event_id": event_id,
                "user_id": user_id,
                "kind": kind,
                "at": at,
                "target": target,
                "channel_id": channel_id,
            }
        )
    except ValidationError as error:
        raise _invalid(error, "event") from None
    row = record.to_row(RowContext(timezone=timezone or get_settings().timezone))
    assert record.at is not None
    envelope = Envelope(
        message_id=row["key"],
        type="track",
        user_id=record.user_id,
        action="event",
        at=utc(record.at),
        event=record.model_dump(mode="json"),
    )
    return envelope, row


def order_envelope(
    *,
    order_id: str,
    user_id: str,
    lines: Sequence[OrderLine],
    ordered_at: datetime | str,
    channel_id: str | None = None,
) -> Envelope:
    """One order as the collector's envelope (message id: the order id; its lines validated here)."""
    rows = _order_rows(order_id, user_id, lines, ordered_at, channel_id)
    content = hashlib.blake2b("\x1f".join(sorted(r["lineId"] for r in rows)).encode(), digest_size=12)
    return Envelope(
        message_id=f"order:{order_id}:{content.hexdigest()}",  # the same order again: one message
        type="track",
        user_id=user_id,
        action="order",
        at=datetime.fromtimestamp(rows[0]["orderedAt"] / 1000, UTC),
        order={
            "order_id": order_id,
            "user_id": user_id,
            "ordered_at": datetime.fromtimestamp(rows[0]["orderedAt"] / 1000, UTC).isoformat(),
            "channel_id": channel_id,
            "lines": [
                {"sku": r["sku"], "quantity": r["quantity"], "unit_price": r["unitPrice"]} for r in rows
            ],
        },
    )


def record_event(
    store: GraphStore,
    *,
    user_id: str,
    kind: str,
    at: datetime | str,
    target: str,
    event_id: str | None = None,
    channel_id: str | None = None,
    timezone: str | None = None,
    rules: RuleSet | str | Path | None = None,
    as_of: datetime | None = None,
    cache: TagCache | None = None,
    suppression_key: bytes | None = None,
) -> RecordedEvent:
    """Fold one event into the user's behaviour edge (as the loader does), then re-tag that user and
    refresh their saved-audience membership.

    ``timezone`` is the zone hours are counted in (default ``PERSONA_TIMEZONE``, as for the loader);
    ``as_of`` is when the rules are judged (default: the graph's data time, the latest order or event,
    as for every refresh; see ``graph.tags.engine.live_as_of``). With ``suppression_key``, a user who
    asked to be forgotten is refused (SuppressedUserError).
    """
    envelope, row = event_envelope(
        user_id=user_id,
        kind=kind,
        at=at,
        target=target,
        event_id=event_id,
        channel_id=channel_id,
        timezone=timezone,
    )
    outcome = fold_one(
        store,
        envelope,
        rules=rules,
        as_of=as_of,
        cache=cache,
        suppression_key=suppression_key,
        timezone=timezone,
    )
    return recorded_event(envelope, row, outcome)


def _order_rows(
    order_id: str,
    user_id: str,
    lines: Sequence[OrderLine],
    ordered_at: datetime | str,
    channel_id: str | None,
) -> list[dict[str, Any]]:
    if not lines:
        raise EventInputError(
            f"order lines: order {order_id!r} has none; expected at least one (sku, qty, price)"
        )
    rows = []
    for i, (sku, quantity, unit_price) in enumerate(lines):
        try:
            record = OrderLineRecord.model_validate(
                {
                    "order_id": order_id,
                    "user_id": user_id,
                    "sku": sku,
                    "ordered_at": ordered_at,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "channel_id": channel_id,
                }
            )
        except ValidationError as error:
            raise _invalid(error, f"order line {i + 1}") from None
        rows.append(record.to_row(RowContext()))
    return rows


def record_order(
    store: GraphStore,
    *,
    order_id: str,
    user_id: str,
    lines: Sequence[OrderLine],
    ordered_at: datetime | str,
    channel_id: str | None = None,
    rules: RuleSet | str | Path | None = None,
    as_of: datetime | None = None,
    cache: TagCache | None = None,
    suppression_key: bytes | None = None,
) -> RecordedOrder:
    """Write one order with its lines (as the loader does), then re-tag the user who placed it and
    refresh their saved-audience membership.

    With ``suppression_key``, a user who asked to be forgotten is refused (SuppressedUserError).
    """
    envelope = order_envelope(
        order_id=order_id, user_id=user_id, lines=lines, ordered_at=ordered_at, channel_id=channel_id
    )
    outcome = fold_one(
        store, envelope, rules=rules, as_of=as_of, cache=cache, suppression_key=suppression_key
    )
    return recorded_order(envelope, outcome)


__all__ = [
    "EventInputError",
    "OrderLine",
    "RecordedEvent",
    "RecordedOrder",
    "event_envelope",
    "fold_one",
    "order_envelope",
    "raise_rejection",
    "record_event",
    "record_order",
    "recorded_event",
    "recorded_order",
]

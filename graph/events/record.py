"""Record one behaviour event or one order as it happens, then re-evaluate that user's rule tags and their
saved-audience membership at once.

Rows are built by the loader's own record models and written by the loader's own catalog statements,
so a recorded event or order is stored exactly as if it had been loaded from a file (and loading that
file later adds nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from personagraph.graph.audiences.service import refresh_saved_audiences
from personagraph.graph.entities import KINDS, fold_events
from personagraph.graph.errors import NotFoundError, PersonaGraphError
from personagraph.graph.ids import missing_ids
from personagraph.graph.kinds import EventKind
from personagraph.graph.privacy.forget import ensure_not_suppressed
from personagraph.graph.records import EventRecord, OrderLineRecord, RowContext
from personagraph.graph.settings import get_settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import RefreshReport, TagCache, TagChange, live_as_of, refresh_tags
from personagraph.graph.tags.rule_file import RuleSet

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


def _require(store: GraphStore, kind: str, keys: Sequence[str], field: str, noun: str) -> None:
    """NotFoundError naming the first key of `keys` (in sorted order) that names no node of `kind`."""
    missing = missing_ids(store, kind, sorted(keys))
    if missing:
        raise NotFoundError(f"{field}: no {noun} with id {missing[0]!r}")


def _tag_update(report: RefreshReport) -> dict[str, tuple[str, ...]]:
    def pick(change: str) -> tuple[str, ...]:
        return tuple(sorted({c.tag_id for c in report.changes if c.change == change}))

    return {"tags_added": pick("added"), "tags_removed": pick("removed"), "tags_updated": pick("updated")}


def _retag(
    store: GraphStore,
    user_id: str,
    rules: RuleSet | str | Path | None,
    as_of: datetime | None,
    cache: TagCache | None,
    recorded_at: datetime,
) -> dict[str, tuple[str, ...]]:
    """What follows from a recorded event or order: the user's rule tags re-evaluated, then their saved-
    audience membership refreshed (a definition may name those tags or the behaviour itself)."""
    # Judged as of the graph's data time, like every refresh and the lifecycle tiers (the cached one,
    # or the recorded time when later), not as of now: on historic data "now" is years after it.
    when = as_of if as_of is not None else live_as_of(store, recorded_at, cache)
    report = refresh_tags(store, rules=rules, user_ids=[user_id], as_of=when, cache=cache)
    refresh_saved_audiences(store, user_id=user_id)
    return _tag_update(report)


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
    if suppression_key is not None:
        ensure_not_suppressed(store, suppression_key, [record.user_id])
    _require(store, "users", [record.user_id], "user_id", "user")
    if record.kind is not EventKind.SEARCH:
        _require(store, "products", [record.target], "target", "product")
    if record.channel_id:
        _require(store, "channels", [record.channel_id], "channel_id", "channel")
    row = record.to_row(RowContext(timezone=timezone or get_settings().timezone))
    folded = store.write_returning(KINDS["events"].statement_for(record), rows=fold_events([row]))
    return RecordedEvent(
        user_id=record.user_id,
        kind=record.kind.value,
        target=row["target"],
        event_key=row["key"],
        new=folded[0]["folded"] > 0,
        **_retag(store, record.user_id, rules, as_of, cache, record.at),
    )


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
    rows = _order_rows(order_id, user_id, lines, ordered_at, channel_id)
    if suppression_key is not None:
        ensure_not_suppressed(store, suppression_key, [user_id])
    _require(store, "users", [user_id], "user_id", "user")
    _require(store, "products", [r["sku"] for r in rows], "sku", "product")
    if channel_id:
        _require(store, "channels", [channel_id], "channel_id", "channel")
    owners = [r["userId"] for r in store.read("tags/read/tags_order_owner", orderId=order_id)]
    if any(owner != user_id for owner in owners):
        # Never name the other user: the caller would learn who placed an order they may know only by id.
        raise EventInputError(f"order_id: {order_id!r} was placed by another user; expected a new order id")
    store.write_rows("events/write/merge_order_lines", rows)
    return RecordedOrder(
        order_id=order_id,
        user_id=user_id,
        lines=len(rows),
        **_retag(
            store, user_id, rules, as_of, cache, datetime.fromtimestamp(rows[0]["orderedAt"] / 1000, UTC)
        ),
    )


__all__ = [
    "EventInputError",
    "OrderLine",
    "RecordedEvent",
    "RecordedOrder",
    "TagChange",
    "record_event",
    "record_order",
]

"""The tracking-API event shape (track, identify and page, as Segment and RudderStack send them),
validated and mapped onto personagraph's behaviour events, orders and profile updates.

Apps already send this shape to their tracking tools; the collector (``POST /v1/batch``) takes it as it
is. Each event of a batch becomes an ``Envelope`` (or a ``Rejection`` naming the field), the journal
(graph/events/journal.py) keeps it, the folding worker writes it. Everything the event's own content
decides is checked here, by the loader's record models (``EventRecord``, ``OrderLineRecord`` and
graph/profiles/write.py ``user_record``), so an accepted envelope always folds; what only the graph
knows (does the user, the product, the channel exist; was the user forgotten) is the fold's to check.

The shape: each event a JSON object of at most ``MAX_EVENT_BYTES`` (its compact JSON encoding); a
batch at most ``MAX_BATCH_BYTES`` (the HTTP layer enforces that one).

- ``messageId``: required, 1 to 100 characters; the dedupe key, and the behaviour event's id.
- ``type``: ``track``, ``identify`` or ``page``.
- ``userId``: required (a string, or an integer, sent as its digits). Not supported yet: anonymous
  events. An event with ``anonymousId`` alone is rejected; send identify with both once the user is
  known. ``anonymousId`` beside a ``userId`` is ignored.
- ``timestamp``: ISO-8601, a time without an offset being UTC. Without it, ``originalTimestamp``
  corrected for the device's clock (received - (sentAt - originalTimestamp), as Segment does); without
  either, the time the batch was received. A time more than ``MAX_AHEAD`` after the batch was received
  is rejected: one device with a wrong clock would otherwise move the graph's data time (as of which
  rule tags are judged) into the future.
- ``event`` (track's name), ``properties``, ``traits`` (identify), ``context``: ``context`` must be an
  object and is not used; ``sentAt``, ``originalTimestamp`` and ``integrations`` are read as above or
  ignored, and so is every key not named here.

The mapping:

- track, ``event`` one of ``TRACK_KINDS`` (any case): a behaviour event on ``properties.sku`` (or
  ``properties.product_id``); a search's target is ``properties.query``.
- track ``Order Completed``: an order, ``properties.order_id``, ``properties.products`` a list of
  ``{sku or product_id, quantity (default 1), price (the unit price, optional)}``, placed at the time.
- page with ``properties.sku`` (or ``product_id``): a view of that product; any other page is rejected.
- identify: a profile update, ``TRAITS`` (and ``traits.address``'s city, state and country,
  ``traits.birthday``'s year) to users.csv columns. Every other trait is ignored, among them email,
  phone, name, firstName, lastName, username, age, title, company, and the consent and acquisition
  columns (marketing_consent, personalization_opt_out, acquired_via, acquired_at): consent is stated
  through the consent API or ``persona consent`` with its source and time, never by a tracking call.
- the channel, for events and orders: ``properties.channel_id`` (or ``properties.channel``), optional.

A reason names the field (``messageId``, ``properties.products[2].quantity``, ``traits: birth_year``)
and shows at most ``ECHO`` characters of what was sent. Two events of one batch with one messageId are
both accepted here; the journal acknowledges the second as a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from personagraph.graph.bounds import int64_problem
from personagraph.graph.errors import PersonaGraphError, TimeRangeError
from personagraph.graph.kinds import EventKind
from personagraph.graph.profiles.write import UserInputError, user_record
from personagraph.graph.records import EARLIEST, LATEST, EventRecord, Key, OrderLineRecord
from personagraph.graph.spreadsheet import id_problem
from personagraph.graph.times import utc

MAX_EVENT_BYTES = 32 * 1024  # one event's JSON, as the common tracking APIs allow
MAX_BATCH_BYTES = 500 * 1024  # one batch's body (enforced by the HTTP layer)
MAX_MESSAGE_ID = 100  # characters
MAX_AHEAD = timedelta(days=1)  # how far after its receipt an event's time may be (clocks, time zones)
ECHO = 80  # characters of what was sent a reason may show
_MAX_TIME_TEXT = 64  # an ISO-8601 time is far shorter; longer text is not parsed

# track's event names (compared lower-cased, spaces collapsed) -> the behaviour event they record.
TRACK_KINDS: dict[str, EventKind] = {
    "product viewed": EventKind.VIEW,
    "view": EventKind.VIEW,
    "product clicked": EventKind.CLICK,
    "click": EventKind.CLICK,
    "product liked": EventKind.LIKE,
    "like": EventKind.LIKE,
    "product shared": EventKind.SHARE,
    "share": EventKind.SHARE,
    "product reviewed": EventKind.COMMENT,
    "comment": EventKind.COMMENT,
    "products searched": EventKind.SEARCH,
    "search": EventKind.SEARCH,
}
ORDER_COMPLETED = "order completed"  # track's event name of an order

# identify's traits -> users.csv columns (graph/records.py UserRecord); every other trait is ignored.
TRAITS: dict[str, str] = {
    "gender": "gender",
    "birth_year": "birth_year",
    "birthYear": "birth_year",
    "city": "city",
    "region": "region",
    "state": "region",
    "country": "country",
    "occupation": "occupation",
    "education": "education",
    "income_band": "income_band",
    "incomeBand": "income_band",
}
ADDRESS_TRAITS: dict[str, str] = {"city": "city", "state": "region", "region": "region", "country": "country"}

Type = Literal["track", "identify", "page"]
Action = Literal["event", "order", "profile"]
_TYPES: tuple[Type, ...] = ("track", "identify", "page")
_KEY: TypeAdapter[str] = TypeAdapter(Key)
# orjson would write datetimes, dataclasses and subclasses of JSON's types itself; the standard encoder
# refuses them, and so must the size check
_JSON_TYPES_ONLY = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


class EnvelopeError(PersonaGraphError):
    """One event of a batch that cannot be accepted; the message is the reason, naming the field."""


class Envelope(BaseModel):
    """One accepted event, mapped: ``action`` says which of ``event``, ``order`` and ``profile`` it
    carries. ``event`` holds EventRecord's fields (event_id, user_id, kind, at, target, channel_id),
    ``order`` {order_id, user_id, ordered_at, channel_id, lines: [{sku, quantity, unit_price}]},
    ``profile`` {user_id, fields: {users.csv column: value}}; all JSON values, so that
    ``model_validate(envelope.model_dump(mode="json"))`` gives the envelope back."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    type: Type
    user_id: str
    action: Action
    at: Annotated[AwareDatetime, AfterValidator(utc)]  # the event's time, in UTC
    event: dict[str, Any] | None = None
    order: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _carries_its_action(self) -> Envelope:
        carried = {name for name in ("event", "order", "profile") if getattr(self, name) is not None}
        if carried != {self.action}:
            raise ValueError(f"action {self.action!r} carries {sorted(carried)}; expected [{self.action!r}]")
        return self


@dataclass(frozen=True)
class Rejection:
    """An event of a batch not accepted: its index in the batch and why."""

    index: int
    reason: str


@dataclass(frozen=True)
class ParsedBatch:
    """A batch parsed: the accepted envelopes with their indexes in the batch, and the rejections."""

    accepted: list[tuple[int, Envelope]]
    rejected: list[Rejection]


def parse_batch(events: Sequence[Any], *, received_at: datetime) -> ParsedBatch:
    """Parse every event of a batch on its own: one bad event never loses the good ones."""
    accepted: list[tuple[int, Envelope]] = []
    rejected: list[Rejection] = []
    for index, raw in enumerate(events):
        try:
            accepted.append((index, parse_event(raw, received_at=received_at)))
        except EnvelopeError as error:
            rejected.append(Rejection(index, str(error)))
    return ParsedBatch(accepted, rejected)


def parse_event(raw: Any, *, received_at: datetime) -> Envelope:
    """One event of the tracking shape as an Envelope; EnvelopeError with the reason otherwise.

    ``received_at`` is when the batch arrived: the time of an event that gives none.
    """
    if not isinstance(raw, dict):
        raise EnvelopeError(f"expected each event to be a JSON object; got {_json_type(raw)}")
    _check_size(raw)
    message_id = _message_id(raw.get("messageId"))
    kind = _type(raw.get("type"))
    user_id = _user_id(raw)
    at = _event_time(raw, utc(received_at))
    _object(raw, "context")
    action, payload = _payload(raw, kind, message_id, user_id, at)
    return Envelope(
        message_id=message_id,
        type=kind,
        user_id=user_id,
        action=action,
        at=at,
        event=payload if action == "event" else None,
        order=payload if action == "order" else None,
        profile=payload if action == "profile" else None,
    )


def _payload(
    raw: Mapping[str, Any], kind: Type, message_id: str, user_id: str, at: datetime
) -> tuple[Action, dict[str, Any]]:
    """What the event carries: a profile update (identify), an order, or a behaviour event."""
    if kind == "identify":
        return "profile", _profile(user_id, _object(raw, "traits"))
    properties = _object(raw, "properties")
    if kind == "page":
        if properties.get("sku") is None and properties.get("product_id") is None:
            raise EnvelopeError(
                "properties.sku: a page is recorded as a view of the product it shows; give its sku "
                "(pages of no product are not recorded)"
            )
        return "event", _behaviour(message_id, user_id, EventKind.VIEW, at, properties)
    name = _track_name(raw.get("event"))
    if name == ORDER_COMPLETED:
        return "order", _order(user_id, at, properties)
    return "event", _behaviour(message_id, user_id, TRACK_KINDS[name], at, properties)


# The envelope's head --------------------------------------------------------------------------------


def _check_size(raw: dict[str, Any]) -> None:
    try:
        size = _json_size(raw)
    except UnicodeEncodeError:
        raise EnvelopeError("event: holds text that is not Unicode (a lone surrogate)") from None
    except (TypeError, ValueError, RecursionError):
        raise EnvelopeError("event: not JSON-encodable, or nested too deep") from None
    if size > MAX_EVENT_BYTES:
        raise EnvelopeError(f"event: {size} bytes as JSON; expected at most {MAX_EVENT_BYTES}")


def _json_size(raw: dict[str, Any]) -> int:
    """Bytes of ``raw`` as compact UTF-8 JSON. orjson writes what the standard encoder would (without
    ASCII escapes, no spaces) an order of magnitude faster; what it refuses (an integer past 64 bits, a
    lone surrogate, deep nesting, a value JSON has no type for) the standard encoder measures, or says why
    it cannot."""
    try:
        return len(orjson.dumps(raw, option=_JSON_TYPES_ONLY))
    except orjson.JSONEncodeError:
        return len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _message_id(value: Any) -> str:
    message_id = _text(value, "messageId")
    message_id = None if message_id is None else message_id.strip()  # as EventRecord reads its event_id
    if not message_id:
        raise EnvelopeError("messageId: required; expected a unique id of 1 to 100 characters")
    if len(message_id) > MAX_MESSAGE_ID:
        raise EnvelopeError(f"messageId: {len(message_id)} characters; expected at most {MAX_MESSAGE_ID}")
    problem = id_problem(message_id)
    if problem:
        raise EnvelopeError(f"messageId: {problem}")
    return message_id


def _type(value: Any) -> Type:
    for kind in _TYPES:
        if isinstance(value, str) and value.strip().lower() == kind:
            return kind
    raise EnvelopeError(f"type: {_shown(value)}; expected track, identify or page")


def _user_id(raw: Mapping[str, Any]) -> str:
    user_id = _text(raw.get("userId"), "userId")
    if user_id is None or not user_id.strip():
        if raw.get("anonymousId") not in (None, ""):
            raise EnvelopeError(
                "anonymousId without userId: anonymous events are not supported yet; "
                "send identify with both once the user is known"
            )
        raise EnvelopeError("userId: required")
    return _key(user_id, "userId")


def _event_time(raw: Mapping[str, Any], received_at: datetime) -> datetime:
    """timestamp; else originalTimestamp moved by the device's clock skew (sentAt); else received_at."""
    if raw.get("timestamp") is not None:
        at, field = _time(raw["timestamp"], "timestamp"), "timestamp"
    elif raw.get("originalTimestamp") is not None:
        at, field = _time(raw["originalTimestamp"], "originalTimestamp"), "originalTimestamp"
        if raw.get("sentAt") is not None:
            try:
                at = received_at - (_time(raw["sentAt"], "sentAt") - at)
            except OverflowError:
                raise EnvelopeError("originalTimestamp: out of range once corrected by sentAt") from None
    else:
        return received_at
    if not EARLIEST <= at <= LATEST:
        raise EnvelopeError(f"{field}: {at.isoformat()} is out of range; expected a time from year 2 to 9998")
    if at > received_at + MAX_AHEAD:
        raise EnvelopeError(
            f"{field}: {at.isoformat()} is more than {MAX_AHEAD.days} day after the batch was received "
            f"({received_at.isoformat()}); is the device's clock right?"
        )
    return at


def _time(value: Any, field: str) -> datetime:
    """An ISO-8601 time in UTC (one without an offset is UTC), or EnvelopeError naming ``field``."""
    if not isinstance(value, str):
        raise EnvelopeError(f"{field}: expected an ISO-8601 time as a string; got {_json_type(value)}")
    not_iso = EnvelopeError(
        f"{field}: {_shown(value)} is not an ISO-8601 time; expected e.g. 2024-05-01T12:30:00Z"
    )
    if len(value) > _MAX_TIME_TEXT:
        raise not_iso
    try:
        return utc(datetime.fromisoformat(value.strip()))
    except (ValueError, TimeRangeError):
        raise not_iso from None


def _track_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise EnvelopeError(f"event: {_shown(value)}; a track event needs its name")
    name = " ".join(value.split()).lower()
    if name != ORDER_COMPLETED and name not in TRACK_KINDS:
        raise EnvelopeError(
            f"event: {_shown(value)} is not an event personagraph records; expected one of Product Viewed, "
            "Product Clicked, Product Liked, Product Shared, Product Reviewed, Products Searched, "
            "Order Completed (or view, click, like, share, comment, search; any case)"
        )
    return name


# What an event carries ------------------------------------------------------------------------------


def _behaviour(
    message_id: str, user_id: str, kind: EventKind, at: datetime, properties: Mapping[str, Any]
) -> dict[str, Any]:
    """EventRecord's fields of a behaviour event, validated by EventRecord itself."""
    if kind is EventKind.SEARCH:
        target_field, target = "properties.query", _text(properties.get("query"), "properties.query")
    else:
        target_field, target = _product(properties, "properties")
    if target is None:
        raise EnvelopeError(f"{target_field}: required for a {kind.value} event")
    fields = {
        "event_id": message_id,
        "user_id": user_id,
        "kind": kind.value,
        "at": at,
        "target": target,
        "channel_id": _channel(properties),
    }
    try:
        record = EventRecord.model_validate(fields)
    except ValidationError as error:
        raise _invalid(error, {"target": target_field, **_HEAD_FIELDS}) from None
    return record.model_dump(mode="json")


def _order(user_id: str, at: datetime, properties: Mapping[str, Any]) -> dict[str, Any]:
    """An order with its lines, each validated by OrderLineRecord as a loaded orders.csv row would be."""
    order_id = _text(properties.get("order_id"), "properties.order_id")
    if order_id is None:
        raise EnvelopeError("properties.order_id: required for Order Completed")
    products = properties.get("products")
    if not isinstance(products, list) or not products:
        raise EnvelopeError(
            f"properties.products: {_shown(products)}; expected a list of at least one product "
            "({sku, quantity, price})"
        )
    channel_id = _channel(properties)
    common = {"order_id": order_id, "user_id": user_id, "ordered_at": at, "channel_id": channel_id}
    records = [_order_line(i, item, common) for i, item in enumerate(products)]
    return {
        "order_id": records[0].order_id,
        "user_id": user_id,
        "ordered_at": records[0].model_dump(mode="json", include={"ordered_at"})["ordered_at"],
        "channel_id": records[0].channel_id,
        "lines": [
            {
                "sku": r.sku,
                "quantity": r.quantity or 1,
                "unit_price": None if r.unit_price is None else float(r.unit_price),
            }
            for r in records
        ],
    }


def _order_line(index: int, item: Any, common: Mapping[str, Any]) -> OrderLineRecord:
    where = f"properties.products[{index}]"
    if not isinstance(item, dict):
        raise EnvelopeError(f"{where}: expected an object {{sku, quantity, price}}; got {_json_type(item)}")
    sku_field, sku = _product(item, where)
    if sku is None:
        raise EnvelopeError(f"{sku_field}: required (or {where}.product_id)")
    quantity = item.get("quantity")
    fields = {
        **common,
        "sku": sku,
        "quantity": 1 if quantity is None else quantity,
        "unit_price": item.get("price"),
    }
    try:
        return OrderLineRecord.model_validate(fields)
    except ValidationError as error:
        names = {"sku": sku_field, "quantity": f"{where}.quantity", "unit_price": f"{where}.price"}
        raise _invalid(error, {**names, "order_id": "properties.order_id", **_HEAD_FIELDS}) from None


def _profile(user_id: str, traits: Mapping[str, Any]) -> dict[str, Any]:
    """users.csv columns from the traits, validated by graph/profiles/write.py ``user_record``."""
    given = _trait_columns(traits)
    try:
        record = user_record(user_id, given)
    except UserInputError as error:
        raise EnvelopeError(f"traits: {_clip(str(error), 200)}") from None
    values = {column: getattr(record, column) for column in given}
    return {"user_id": record.user_id, "fields": {c: v for c, v in values.items() if v is not None}}


def _trait_columns(traits: Mapping[str, Any]) -> dict[str, Any]:
    """The traits that are users.csv columns; the top-level ones first, then address, then birthday."""
    columns: dict[str, Any] = {}
    for name, column in TRAITS.items():
        if traits.get(name) is not None:
            columns.setdefault(column, traits[name])
    address = traits.get("address")
    if isinstance(address, dict):
        for name, column in ADDRESS_TRAITS.items():
            if address.get(name) is not None:
                columns.setdefault(column, address[name])
    if traits.get("birthday") is not None and "birth_year" not in columns:
        columns["birth_year"] = _time(traits["birthday"], "traits.birthday").year
    return columns


# Reading fields -------------------------------------------------------------------------------------

_HEAD_FIELDS = {
    "event_id": "messageId",
    "user_id": "userId",
    "at": "timestamp",
    "ordered_at": "timestamp",
    "channel_id": "properties.channel_id",
}


def _product(holder: Mapping[str, Any], where: str) -> tuple[str, str | None]:
    """(the field named, the sku): ``sku``, else ``product_id``."""
    if holder.get("sku") is None and holder.get("product_id") is not None:
        return f"{where}.product_id", _text(holder["product_id"], f"{where}.product_id")
    return f"{where}.sku", _text(holder.get("sku"), f"{where}.sku")


def _channel(properties: Mapping[str, Any]) -> str | None:
    """``channel_id``, else ``channel``: an id as the records' Key (a bare Ref has no length bound)."""
    field = "properties.channel_id" if properties.get("channel_id") is not None else "properties.channel"
    channel = _text(properties.get(field.removeprefix("properties.")), field)
    return None if channel is None or not channel.strip() else _key(channel, field)


def _object(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EnvelopeError(f"{key}: expected an object; got {_json_type(value)}")
    return value


def _text(value: Any, field: str) -> str | None:
    """A string, or an integer as its digits (SDKs send numeric ids); None when absent."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and int64_problem(value) is None:
        return str(value)
    raise EnvelopeError(f"{field}: expected a string; got {_json_type(value)}")


def _key(value: str, field: str) -> str:
    """``value`` as the records' Key (an id: 1 to 200 characters, no spreadsheet formula lead)."""
    try:
        return _KEY.validate_python(value)
    except ValidationError as error:
        raise EnvelopeError(f"{field}: {_clip(error.errors()[0]['msg'])}") from None


def _invalid(error: ValidationError, names: Mapping[str, str]) -> EnvelopeError:
    """A record's first validation error, naming the envelope's field rather than the record's."""
    first = error.errors()[0]
    column = str(first["loc"][0]) if first["loc"] else "event"
    return EnvelopeError(f"{names.get(column, column)}: {_clip(first['msg'])} (got {_shown(first['input'])})")


def _shown(value: Any) -> str:
    """What was sent, for a reason: a string or a number clipped to ECHO characters, else its type."""
    if isinstance(value, str):
        return repr(value) if len(value) <= ECHO else repr(value[:ECHO]) + "..."
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if (isinstance(value, int) and int64_problem(value) is None) or isinstance(value, float):
        return _clip(repr(value), ECHO)
    return _json_type(value)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, float) else type(value).__name__)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_EVENT_BYTES",
    "TRACK_KINDS",
    "TRAITS",
    "Envelope",
    "EnvelopeError",
    "ParsedBatch",
    "Rejection",
    "parse_batch",
    "parse_event",
]

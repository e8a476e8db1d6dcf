"""Issue 18, the collector's validation: the tracking shape (track, identify, page) mapped onto behaviour
events, orders and profile updates (graph/events/envelope.py), and what it refuses, one event at a
time, naming the field and echoing little of what was sent. No Neo4j."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from personagraph.graph.events.envelope import (
    MAX_BATCH_BYTES,
    MAX_EVENT_BYTES,
    TRACK_KINDS,
    Envelope,
    EnvelopeError,
    parse_batch,
    parse_event,
)
from personagraph.graph.kinds import EventKind
from personagraph.graph.profiles.write import user_record
from personagraph.graph.records import EventRecord, OrderLineRecord

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def track(name: str, properties: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"messageId": "m-1", "type": "track", "event": name, "userId": "u1"}
    if properties is not None:
        raw["properties"] = properties
    return {**raw, **fields}


def parsed(raw: Any) -> Envelope:
    return parse_event(raw, received_at=RECEIVED)


def reason(raw: Any) -> str:
    with pytest.raises(EnvelopeError) as error:
        parse_event(raw, received_at=RECEIVED)
    return str(error.value)


def json_size(raw: Any) -> int:
    return len(json.dumps(raw, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def test_the_limits_are_those_of_the_common_tracking_apis() -> None:
    assert MAX_EVENT_BYTES == 32 * 1024 and MAX_BATCH_BYTES == 500 * 1024


# track: behaviour events ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TRACK_KINDS))
def test_every_track_name_is_a_behaviour_event_of_its_kind(name: str) -> None:
    kind = TRACK_KINDS[name]
    properties = {"query": "red shoes"} if kind is EventKind.SEARCH else {"sku": "p1"}
    envelope = parsed(track(name.upper(), properties, timestamp="2026-02-01T08:30:00+08:00"))
    assert envelope.action == "event" and envelope.order is None and envelope.profile is None
    assert envelope.at == datetime(2026, 2, 1, 0, 30, tzinfo=UTC)
    assert envelope.event == {
        "event_id": "m-1",
        "user_id": "u1",
        "kind": kind.value,
        "at": "2026-02-01T00:30:00Z",
        "target": "red shoes" if kind is EventKind.SEARCH else "p1",
        "channel_id": None,
    }


def test_the_table_covers_every_kind_by_its_ecommerce_name_and_its_own() -> None:
    assert {k.value for k in TRACK_KINDS.values()} == {k.value for k in EventKind}
    for kind in EventKind:
        assert TRACK_KINDS[kind.value] is kind
    assert TRACK_KINDS["product reviewed"] is EventKind.COMMENT
    assert TRACK_KINDS["products searched"] is EventKind.SEARCH


def test_names_are_read_in_any_case_and_spacing() -> None:
    assert (
        parsed(track("  product   VIEWED ", {"sku": "p1"})).event
        == parsed(track("view", {"sku": "p1"})).event
    )


def test_the_target_is_the_sku_else_the_product_id_and_the_channel_is_optional() -> None:
    by_id = parsed(track("Product Liked", {"product_id": "p9", "channel": "app"}))
    assert by_id.event is not None and by_id.event["target"] == "p9" and by_id.event["channel_id"] == "app"
    numeric = parsed(track("Product Liked", {"product_id": 42, "channel_id": "web", "channel": "app"}))
    assert (
        numeric.event is not None and numeric.event["target"] == "42" and numeric.event["channel_id"] == "web"
    )
    both = parsed(track("Product Liked", {"sku": "p1", "product_id": "p9"}))
    assert both.event is not None and both.event["target"] == "p1"


def test_a_product_event_without_a_product_or_a_search_without_words_is_rejected() -> None:
    assert reason(track("Product Clicked", {})).startswith("properties.sku: required")
    assert reason(track("Product Clicked")).startswith("properties.sku: required")
    assert reason(track("Products Searched", {"sku": "p1"})).startswith("properties.query: required")
    assert reason(track("Product Clicked", {"sku": "=cmd"})).startswith("properties.sku: ")
    assert reason(track("view", {"sku": "p1", "channel_id": "@x"})).startswith("properties.channel_id: ")


def test_an_unknown_event_name_is_rejected_naming_the_known_ones() -> None:
    message = reason(track("Signed Up", {}))
    assert message.startswith("event: 'Signed Up' is not an event personagraph records")
    assert "Product Viewed" in message and "Order Completed" in message
    assert reason({**track("x"), "event": None}).startswith("event: ")
    assert reason({**track("x"), "event": "  "}).startswith("event: ")


# track Order Completed ------------------------------------------------------------------------------


def test_order_completed_is_an_order_with_its_lines() -> None:
    properties = {
        "order_id": "o-7",
        "channel_id": "web",
        "revenue": 31.0,
        "products": [
            {"sku": "p1", "quantity": 2, "price": 9.99, "name": "ignored"},
            {"product_id": "p2"},
            {"sku": "p3", "quantity": "3", "price": "1.10"},
        ],
    }
    envelope = parsed(track("Order Completed", properties, timestamp="2026-02-03T10:00:00Z"))
    assert envelope.action == "order" and envelope.event is None
    assert envelope.order == {
        "order_id": "o-7",
        "user_id": "u1",
        "ordered_at": "2026-02-03T10:00:00Z",
        "channel_id": "web",
        "lines": [
            {"sku": "p1", "quantity": 2, "unit_price": 9.99},
            {"sku": "p2", "quantity": 1, "unit_price": None},
            {"sku": "p3", "quantity": 3, "unit_price": 1.1},
        ],
    }


def test_an_order_needs_its_id_and_good_lines() -> None:
    assert reason(track("Order Completed", {"products": [{"sku": "p1"}]})).startswith(
        "properties.order_id: required"
    )
    assert reason(track("Order Completed", {"order_id": "o"})).startswith(
        "properties.products: null; expected"
    )
    assert reason(track("Order Completed", {"order_id": "o", "products": []})).startswith(
        "properties.products: "
    )
    assert reason(track("Order Completed", {"order_id": "o", "products": {"sku": "p1"}})).startswith(
        "properties.products: an object; expected a list"
    )
    bad_lines = {
        "properties.products[1]: expected an object": ["p2"],
        "properties.products[1].sku: required": [{"quantity": 1}],
        "properties.products[1].quantity: ": [{"sku": "p2", "quantity": 0}],
        "properties.products[1].price: ": [{"sku": "p2", "price": -1}],
        "properties.products[1].product_id: ": [{"product_id": "=2"}],
    }
    for expected, lines in bad_lines.items():
        products = [{"sku": "p1"}, *lines]
        assert reason(track("Order Completed", {"order_id": "o", "products": products})).startswith(expected)
    assert reason(track("Order Completed", {"order_id": "=o", "products": [{"sku": "p1"}]})).startswith(
        "properties.order_id: "
    )


def test_quantities_and_prices_keep_the_loaders_bounds() -> None:
    for line, field in [
        ({"quantity": 10**7}, "quantity"),
        ({"price": 1e12}, "price"),
        ({"price": "NaN"}, "price"),
    ]:
        raw = track("Order Completed", {"order_id": "o", "products": [{"sku": "p1", **line}]})
        assert reason(raw).startswith(f"properties.products[0].{field}: "), line


# page -----------------------------------------------------------------------------------------------


def test_a_page_of_a_product_is_a_view_of_it() -> None:
    raw = {"messageId": "pg", "type": "page", "userId": "u1", "name": "Shoe", "properties": {"sku": "p5"}}
    envelope = parsed(raw)
    assert envelope.type == "page" and envelope.action == "event"
    assert (
        envelope.event is not None and envelope.event["kind"] == "view" and envelope.event["target"] == "p5"
    )


def test_a_page_of_no_product_is_rejected_with_a_clear_reason() -> None:
    raw = {"messageId": "pg", "type": "page", "userId": "u1", "properties": {"url": "https://x.example/"}}
    assert reason(raw).startswith("properties.sku: a page is recorded as a view of the product it shows")
    assert reason({"messageId": "pg", "type": "page", "userId": "u1"}).startswith("properties.sku: ")


# identify -------------------------------------------------------------------------------------------


def test_identify_maps_traits_to_users_columns_and_ignores_the_rest() -> None:
    traits = {
        "gender": "F",
        "birthYear": 1990,
        "city": " Shanghai ",
        "state": "SH",
        "country": "CN",
        "occupation": "engineer",
        "education": "master",
        "incomeBand": "high",
        "email": "a@b.example",
        "phone": "+86 123",
        "name": "Ann",
        "marketing_consent": True,
        "personalization_opt_out": False,
        "acquired_via": "ads",
        "age": 36,
        "nested": {"deep": [1, 2, 3]},
    }
    envelope = parsed({"messageId": "id-1", "type": "identify", "userId": "u1", "traits": traits})
    assert envelope.action == "profile" and envelope.event is None and envelope.order is None
    assert envelope.profile == {
        "user_id": "u1",
        "fields": {
            "gender": "F",
            "birth_year": 1990,
            "city": "Shanghai",
            "region": "SH",
            "country": "CN",
            "occupation": "engineer",
            "education": "master",
            "income_band": "high",
        },
    }


def test_identify_reads_the_address_and_the_birthday_after_the_top_level_traits() -> None:
    traits = {
        "city": "Beijing",
        "address": {"city": "Paris", "state": "IDF", "country": "FR", "street": "1 rue"},
        "birthday": "1985-06-30T00:00:00.000Z",
    }
    envelope = parsed({"messageId": "id-2", "type": "identify", "userId": "u1", "traits": traits})
    assert envelope.profile == {
        "user_id": "u1",
        "fields": {"city": "Beijing", "region": "IDF", "country": "FR", "birth_year": 1985},
    }
    without = parsed({"messageId": "id-3", "type": "identify", "userId": "u1"})
    assert without.profile == {"user_id": "u1", "fields": {}}


def test_identify_traits_are_validated_as_a_users_row() -> None:
    def identify(traits: Any) -> dict[str, Any]:
        return {"messageId": "id", "type": "identify", "userId": "u1", "traits": traits}

    assert reason(identify({"birth_year": 1800})).startswith("traits: birth_year: ")
    assert reason(identify({"birthYear": "soon"})).startswith("traits: birth_year: ")
    assert reason(identify({"gender": {"a": 1}})).startswith("traits: gender: ")
    assert reason(identify({"city": "x" * 201})).startswith("traits: city: ")
    assert reason(identify({"birthday": "yesterday"})).startswith("traits.birthday: ")
    assert reason(identify(["city"])).startswith("traits: expected an object; got a list")


# the head: messageId, type, userId, timestamp -------------------------------------------------------


def test_message_id_is_required_and_bounded() -> None:
    raw = track("view", {"sku": "p1"})
    for missing in ({k: v for k, v in raw.items() if k != "messageId"}, {**raw, "messageId": ""}):
        assert reason(missing).startswith("messageId: required")
    assert reason({**raw, "messageId": "   "}).startswith("messageId: required")
    assert reason({**raw, "messageId": "m" * 101}) == "messageId: 101 characters; expected at most 100"
    assert parsed({**raw, "messageId": "m" * 100}).message_id == "m" * 100
    assert reason({**raw, "messageId": "=HYPERLINK()"}).startswith("messageId: begins with '='")
    assert parsed({**raw, "messageId": 12345}).message_id == "12345"
    spaced = parsed({**raw, "messageId": " m-2 "})
    assert spaced.message_id == "m-2" and spaced.event is not None and spaced.event["event_id"] == "m-2"


def test_type_must_be_track_identify_or_page() -> None:
    raw = track("view", {"sku": "p1"})
    for bad in ("screen", "alias", None, 3, ["track"]):
        assert reason({**raw, "type": bad}).startswith("type: "), bad
    assert parsed({**raw, "type": "TRACK"}).type == "track"


def test_user_id_is_required_and_anonymous_events_are_not_supported_yet() -> None:
    raw = track("view", {"sku": "p1"})
    del raw["userId"]
    assert reason(raw) == "userId: required"
    assert reason({**raw, "userId": ""}) == "userId: required"
    anonymous = reason({**raw, "anonymousId": "anon-1"})
    assert anonymous.startswith("anonymousId without userId: ") and "send identify with both" in anonymous
    with_both = parsed({**raw, "userId": "u1", "anonymousId": "anon-1"})
    assert with_both.user_id == "u1"
    assert parsed({**raw, "userId": 77}).user_id == "77"
    assert reason({**raw, "userId": "-1"}).startswith("userId: ")
    assert reason({**raw, "userId": "u" * 201}).startswith("userId: ")
    assert reason({**raw, "userId": True}).startswith("userId: expected a string; got a boolean")


def test_the_time_is_the_timestamp_else_the_corrected_original_else_the_receipt() -> None:
    raw = track("view", {"sku": "p1"})
    assert parsed(raw).at == RECEIVED
    assert parsed({**raw, "timestamp": "2026-02-01 10:00:00"}).at == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert parsed({**raw, "timestamp": "2026-02-01"}).at == datetime(2026, 2, 1, tzinfo=UTC)
    # The device's clock is 5 minutes ahead: the event happened a minute before it was sent.
    skewed = {**raw, "originalTimestamp": "2026-03-01T12:04:00Z", "sentAt": "2026-03-01T12:05:00Z"}
    assert parsed(skewed).at == RECEIVED - timedelta(minutes=1)
    original = {**raw, "originalTimestamp": "2026-02-01T00:00:00Z"}
    assert parsed(original).at == datetime(2026, 2, 1, tzinfo=UTC)
    assert parsed({**skewed, "timestamp": "2026-02-02T00:00:00Z"}).at == datetime(2026, 2, 2, tzinfo=UTC)


def test_a_bad_timestamp_is_rejected_naming_the_field() -> None:
    raw = track("view", {"sku": "p1"})
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "1" * 5000):
        assert reason({**raw, "timestamp": bad}).startswith("timestamp: "), bad
    assert reason({**raw, "timestamp": 1_700_000_000}).startswith("timestamp: expected an ISO-8601 time")
    assert reason({**raw, "timestamp": "0001-01-01T00:00:00Z"}).startswith("timestamp: 0001-01-01T00:00:00")
    assert reason({**raw, "originalTimestamp": "x"}).startswith("originalTimestamp: ")
    assert reason({**raw, "originalTimestamp": "2026-01-01T00:00:00Z", "sentAt": 5}).startswith("sentAt: ")
    far = {**raw, "originalTimestamp": "9000-01-01T00:00:00Z", "sentAt": "0002-01-01T00:00:00Z"}
    assert reason(far).startswith("originalTimestamp: ")


def test_a_time_more_than_a_day_after_receipt_is_rejected() -> None:
    raw = track("view", {"sku": "p1"})
    assert parsed({**raw, "timestamp": "2026-03-02T11:00:00Z"}).at == datetime(2026, 3, 2, 11, tzinfo=UTC)
    late = reason({**raw, "timestamp": "2027-03-02T11:00:00Z"})
    assert late.startswith(
        "timestamp: 2027-03-02T11:00:00+00:00 is more than 1 day after the batch was received"
    )


def test_context_and_properties_must_be_objects_and_unknown_keys_are_ignored() -> None:
    raw = track("view", {"sku": "p1"})
    assert reason({**raw, "context": "ios"}) == "context: expected an object; got a string"
    assert reason({**raw, "properties": ["p1"]}) == "properties: expected an object; got a list"
    extra = {**raw, "integrations": "All", "sentAt": "junk", "channel": "web", "version": 2, "_metadata": {}}
    assert parsed(extra).event == parsed(raw).event


# size ----------------------------------------------------------------------------------------------


def padded(size: int) -> dict[str, Any]:
    """A view event whose compact JSON is ``size`` bytes (the padding in context, multi-byte text)."""
    raw = {**track("view", {"sku": "p1"}), "context": {"pad": ""}}
    room = size - json_size(raw)
    raw["context"] = {"pad": "界" * (room // 3) + "x" * (room % 3)}
    assert json_size(raw) == size
    return raw


def test_an_event_of_32_kb_is_accepted_and_one_byte_more_is_rejected() -> None:
    assert parsed(padded(MAX_EVENT_BYTES)).message_id == "m-1"
    assert (
        reason(padded(MAX_EVENT_BYTES + 1))
        == f"event: {MAX_EVENT_BYTES + 1} bytes as JSON; expected at most 32768"
    )


# batches -------------------------------------------------------------------------------------------


def test_a_batch_keeps_the_good_events_with_their_indexes_and_rejects_the_bad_one_by_one() -> None:
    events: list[Any] = [
        track("view", {"sku": "p1"}, messageId="a"),
        "not an event",
        track("Order Completed", {"order_id": "o1", "products": [{"sku": "p1"}]}, messageId="b"),
        track("view", {}, messageId="c"),
        {"messageId": "d", "type": "identify", "userId": "u1", "traits": {"city": "Paris"}},
        padded(MAX_EVENT_BYTES + 10),
        track("view", {"sku": "p1"}, messageId="a"),  # the same messageId again: the journal's to dedupe
    ]
    batch = parse_batch(events, received_at=RECEIVED)
    assert [(i, e.message_id, e.action) for i, e in batch.accepted] == [
        (0, "a", "event"),
        (2, "b", "order"),
        (4, "d", "profile"),
        (6, "a", "event"),
    ]
    assert [(r.index, r.reason.split(":")[0]) for r in batch.rejected] == [
        (1, "expected each event to be a JSON object; got a string"),
        (3, "properties.sku"),
        (5, "event"),
    ]
    assert parse_batch([], received_at=RECEIVED) == type(batch)([], [])


# what an accepted envelope carries ------------------------------------------------------------------


def test_an_envelope_survives_json_and_what_it_carries_validates_as_the_loaders_rows() -> None:
    events = [
        track(
            "Product Shared", {"sku": "p1", "channel": "wechat"}, timestamp="2026-02-01T08:30:00.123456-05:00"
        ),
        track(
            "Order Completed", {"order_id": "o1", "products": [{"sku": "p1", "price": 0.1, "quantity": 2}]}
        ),
        {
            "messageId": "i",
            "type": "identify",
            "userId": "u1",
            "traits": {"birthYear": "1990", "gender": "M"},
        },
    ]
    for envelope in (parsed(raw) for raw in events):
        copy = Envelope.model_validate(json.loads(json.dumps(envelope.model_dump(mode="json"))))
        assert copy == envelope and copy.at.tzinfo is not None and copy.at.utcoffset() == timedelta(0)
        assert Envelope.model_validate_json(envelope.model_dump_json()) == envelope
        if envelope.event is not None:
            assert EventRecord.model_validate(envelope.event).event_id == envelope.message_id
        if envelope.order is not None:
            order = {k: v for k, v in envelope.order.items() if k != "lines"}
            for line in envelope.order["lines"]:
                OrderLineRecord.model_validate({**order, **line})
        if envelope.profile is not None:
            assert user_record(envelope.user_id, envelope.profile["fields"]).birth_year == 1990


def test_an_envelope_carries_exactly_what_its_action_says() -> None:
    envelope = parsed(track("view", {"sku": "p1"}))
    body = envelope.model_dump(mode="json")
    with pytest.raises(ValidationError, match="carries"):
        Envelope.model_validate({**body, "action": "order"})
    with pytest.raises(ValidationError, match="carries"):
        Envelope.model_validate({**body, "profile": {"user_id": "u1", "fields": {}}})
    with pytest.raises(ValidationError):
        Envelope.model_validate({**body, "at": "2026-01-01T00:00:00"})  # a time without its zone


# attacks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, True, 7, 1.5, "track", [], [track("view", {"sku": "p1"})], b"{}"])
def test_what_is_not_an_object_is_rejected(raw: Any) -> None:
    assert reason(raw).startswith("expected each event to be a JSON object; got ")


SECRET = "Z" * 30_000  # within 32 KB; no reason may show more than 80 characters of it


@pytest.mark.parametrize(
    "raw",
    [
        {**track("view", {"sku": "p1"}), "messageId": SECRET},
        {**track("view", {"sku": "p1"}), "userId": SECRET},
        {**track("view", {"sku": "p1"}), "type": SECRET},
        {**track("view", {"sku": "p1"}), "event": SECRET},
        {**track("view", {"sku": "p1"}), "timestamp": SECRET},
        {**track("view", {"sku": "p1"}), "originalTimestamp": SECRET},
        track("view", {"sku": SECRET}),
        track("view", {"sku": "p1", "channel_id": SECRET}),
        track("search", {"query": SECRET}),
        track("Order Completed", {"order_id": SECRET, "products": [{"sku": "p1"}]}),
        track("Order Completed", {"order_id": "o", "products": [{"sku": SECRET}]}),
        track("Order Completed", {"order_id": "o", "products": [{"sku": "p1", "price": SECRET}]}),
        track("Order Completed", {"order_id": "o", "products": [{"sku": "p1", "quantity": SECRET}]}),
        {"messageId": "i", "type": "identify", "userId": "u1", "traits": {"city": SECRET}},
        {"messageId": "i", "type": "identify", "userId": "u1", "traits": {"birthYear": SECRET}},
        {"messageId": "i", "type": "identify", "userId": "u1", "traits": {"birthday": SECRET}},
        {"messageId": "i", "type": "identify", "userId": SECRET},
    ],
)
def test_huge_strings_are_rejected_without_being_echoed(raw: dict[str, Any]) -> None:
    message = reason(raw)
    assert re.match(r"^[A-Za-z_.\[\]0-9]+: ", message) or message.startswith("traits: "), message
    assert max((len(run) for run in re.findall("Z+", message)), default=0) <= 80, message
    assert len(message) < 600


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (track("view", {"sku": {"$ne": ""}}), "properties.sku"),
        (track("view", {"sku": ["p1", "p2"]}), "properties.sku"),
        (track("view", {"sku": 1.5}), "properties.sku"),
        (track("view", {"sku": True}), "properties.sku"),
        (track("view", {"sku": 10**30}), "properties.sku"),
        (track("view", {"sku": "p1", "channel": {"id": 1}}), "properties.channel"),
        (track("search", {"query": ["a"]}), "properties.query"),
        (
            track("Order Completed", {"order_id": {"id": 1}, "products": [{"sku": "p1"}]}),
            "properties.order_id",
        ),
        (
            track("Order Completed", {"order_id": "o", "products": [{"sku": "p1", "quantity": [1]}]}),
            "properties",
        ),
        (track("Order Completed", {"order_id": "o", "products": [None]}), "properties.products[0]"),
        (track("Order Completed", {"order_id": "o", "products": "p1"}), "properties.products"),
        ({**track("view", {"sku": "p1"}), "messageId": {"id": "m"}}, "messageId"),
        ({**track("view", {"sku": "p1"}), "messageId": ["m"]}, "messageId"),
        ({**track("view", {"sku": "p1"}), "userId": {"id": "u"}}, "userId"),
        ({**track("view", {"sku": "p1"}), "event": {"name": "view"}}, "event"),
        ({**track("view", {"sku": "p1"}), "timestamp": {"$date": 1}}, "timestamp"),
        ({"messageId": "i", "type": "identify", "userId": "u1", "traits": "city=Paris"}, "traits"),
        ({"messageId": "i", "type": "identify", "userId": "u1", "traits": {"city": ["a"]}}, "traits"),
    ],
)
def test_wrong_types_and_nested_junk_are_rejected_naming_the_field(raw: dict[str, Any], field: str) -> None:
    assert reason(raw).startswith(field), reason(raw)


def test_deep_nesting_and_text_that_is_not_unicode_are_rejected() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    assert reason({**track("view", {"sku": "p1"}), "context": {"deep": deep}}).startswith("event: ")
    assert reason(track("view", {"sku": "p1\ud800"})).startswith("event: holds text that is not Unicode")
    assert reason({**track("view", {"sku": "p1"}), "context": {"at": datetime.now(UTC)}}).startswith(
        "event: "
    )


def test_a_big_batch_of_junk_loses_none_of_its_good_events() -> None:
    junk: list[Any] = [None, [], {}, {"type": "track"}, {"messageId": 1}, padded(MAX_EVENT_BYTES + 1)]
    events = [
        track("view", {"sku": f"p{i}"}, messageId=f"m{i}") if i % 7 == 0 else junk[i % 6] for i in range(700)
    ]
    batch = parse_batch(events, received_at=RECEIVED)
    assert [i for i, _ in batch.accepted] == list(range(0, 700, 7))
    assert len(batch.rejected) == 600 and all(r.reason for r in batch.rejected)

"""Audiences on a tiny hand-made graph in a real Neo4j: exact members for every condition kind."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from personagraph.graph.audiences.compile import count_statement, members_statement
from personagraph.graph.audiences.model import LIFECYCLE_TIERS, AudienceDefinitionError, AudienceError
from personagraph.graph.audiences.parse import parse_definition
from personagraph.graph.audiences.service import (
    audience_members,
    breakdown,
    count_audience,
    expand_lookalike,
    export_csv,
    members_among,
    refresh_saved_audiences,
    save_audience,
    saved_audience,
)
from personagraph.graph.paging import InvalidPageError
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.api_support import reused_graph

NASTY = 'Bob\'s "Town"}) RETURN 1 //'
USERS = [f"u{i:02d}" for i in range(1, 12)]
MARKER = "audience-test-data-v1"


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def write_people(folder: Path, now: datetime) -> None:
    """Eleven users with known tags, orders, events, ties (see the expected sets below)."""
    folder.mkdir(parents=True, exist_ok=True)
    recent = (now - timedelta(days=10)).isoformat()
    files = {
        "channels": [["channel_id", "kind"], ["web", "online"], ["app", "online"], ["wechat", "social"]],
        "products": [
            ["sku", "name", "brand", "category"],
            ["P1", "e-bike", "Voltra", "Vehicles/E-bikes"],
            ["P2", "helmet", "Voltra", "Vehicles/Accessories"],
            ["P3", "headphones", "Sonique", "Electronics/Audio"],
            ["P4", "charger", "Sonique", "Electronics/Accessories"],
            ["P5", "speaker", "Nova", "Electronics/Audio/Speakers"],
        ],
        "users": [
            [
                "user_id",
                "gender",
                "birth_year",
                "city",
                "marketing_consent",
                "personalization_opt_out",
                "acquired_via",
            ],
            ["u01", "female", "1990", "Shanghai", "true", "false", "web"],
            ["u02", "male", "1985", "Shanghai", "true", "true", "app"],
            ["u03", "female", "2000", "Beijing", "false", "false", "web"],
            ["u04", "male", "1970", "Beijing", "true", "false", "wechat"],
            ["u05", "female", "1995", "Hangzhou", "", "", "app"],
            ["u06", "male", "1988", "Shanghai", "true", "false", "wechat"],
            ["u07", "female", "2001", "Hangzhou", "true", "false", "web"],
            ["u08", "", "", "", "false", "true", ""],
            ["u09", "male", "1999", "Shenzhen", "true", "false", "app"],
            ["u10", "female", "1980", "Shanghai", "true", "false", "web"],
            ["u11", "male", "1992", NASTY, "true", "false", ""],
        ],
        "tags": [["tag_id", "tier"], ["vip", "basic"], ["bargain", "behavior"], ["sporty", "preference"]],
        "user_tags": [
            ["user_id", "tag_id", "weight", "expires_at"],
            ["u01", "vip", "0.9", ""],
            ["u02", "vip", "0.4", ""],
            ["u03", "vip", "1.0", "2020-01-01"],
            ["u04", "bargain", "0.8", ""],
            ["u06", "vip", "1.0", ""],
            ["u06", "sporty", "0.7", ""],
            ["u10", "sporty", "0.5", ""],
            ["u09", "vip", "0.6", ""],
        ],
        "orders": [
            ["order_id", "user_id", "sku", "ordered_at"],
            ["o1", "u01", "P1", "2025-03-01T10:00:00Z"],
            ["o1", "u01", "P2", "2025-03-01T10:00:00Z"],
            ["o2", "u02", "P3", "2025-04-10T10:00:00Z"],
            ["o3", "u02", "P3", "2025-05-10T10:00:00Z"],
            ["o4", "u03", "P5", "2025-04-15T10:00:00Z"],
            ["o5", "u04", "P4", "2024-12-01T10:00:00Z"],
            ["o6", "u06", "P1", "2025-05-20T10:00:00Z"],
            ["o7", "u09", "P3", "2025-04-20T10:00:00Z"],
            ["o8", "u10", "P5", "2025-06-01T10:00:00Z"],
            ["o9", "u07", "P4", recent],
        ],
        "events": [
            ["user_id", "kind", "at", "target"],
            ["u05", "view", "2025-04-01T08:00:00Z", "P3"],
            ["u05", "view", "2025-04-02T08:00:00Z", "P3"],
            ["u05", "view", "2025-04-20T08:00:00Z", "P3"],
            ["u07", "view", "2025-03-01T08:00:00Z", "P3"],
            ["u07", "like", "2025-05-01T08:00:00Z", "P1"],
            ["u08", "click", "2025-04-05T08:00:00Z", "P5"],
            ["u08", "click", "2025-04-06T08:00:00Z", "P5"],
            ["u01", "view", "2024-01-01T08:00:00Z", "P1"],
        ],
        "ties": [
            ["src_user_id", "dst_user_id", "kind"],
            *[[a, b, "friend"] for a, b in FRIENDS],
            *[[a, b, "follows"] for a, b in (("u03", "u01"), ("u04", "u01"), ("u05", "u01"), ("u02", "u06"))],
            *[
                [a, b, "referred"]
                for a, b in (("u01", "u02"), ("u02", "u03"), ("u03", "u04"), ("u09", "u10"))
            ],
        ],
    }
    for kind, rows in files.items():
        (folder / f"{kind}.csv").write_text(_csv(rows), encoding="utf-8")


FRIENDS = (
    ("u01", "u02"),
    ("u01", "u03"),
    ("u02", "u03"),
    ("u04", "u05"),
    ("u05", "u06"),
    ("u06", "u07"),
    ("u02", "u10"),
)
ANALYTICS = [  # what segments, personas, communities and influence would have written
    {"id": "u01", "props": {"lifecycle": "core", "persona": "persona-1", "socialCommunity": "social-0",
                            "influence": 0.3, "influenceRank": 1}},
    {"id": "u02", "props": {"lifecycle": "loyal", "persona": "persona-2", "socialCommunity": "social-0",
                            "influence": 0.2, "influenceRank": 2}},
    {"id": "u03", "props": {"lifecycle": "new", "socialCommunity": "social-0",
                            "influence": 0.05, "influenceRank": 4}},
    {"id": "u04", "props": {"lifecycle": "dormant", "socialCommunity": "social-1"}},
    {"id": "u05", "props": {"socialCommunity": "social-1"}},
    {"id": "u06", "props": {"lifecycle": "core", "persona": "persona-1", "socialCommunity": "social-1",
                            "influence": 0.1, "influenceRank": 3}},
    {"id": "u07", "props": {"socialCommunity": "social-1"}},
]  # fmt: skip


def load_people(store: GraphStore, folder: Path) -> None:
    write_people(folder, datetime.now(UTC))
    reports = load_dataset(store, folder, options=LoadOptions(rejects_dir=folder / "rejects"))
    assert all(r.rejected == 0 for r in reports), [r.as_dict() for r in reports]
    store.driver.execute_query(
        "UNWIND $rows AS row MATCH (u:User {userId: row.id}) SET u += row.props", rows=ANALYTICS
    )


@pytest.fixture
def people(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> GraphStore:
    """The eleven users, loaded once and reused while nothing else has touched the graph."""

    def load(store: GraphStore) -> None:
        load_people(store, tmp_path_factory.mktemp("people"))

    return reused_graph(driver, neo4j_connection, MARKER, len(USERS), load)


@pytest.fixture
def fresh_people(store: GraphStore, tmp_path: Path) -> Iterator[GraphStore]:
    """The eleven users in a graph this test may change."""
    load_people(store, tmp_path / "people")
    yield store
    store.run_autocommit("server/write/wipe_data")


def members(store: GraphStore, definition: Any, purpose: str = "analysis") -> list[str]:
    return audience_members(store, definition, first=1000, purpose=purpose).users  # type: ignore[arg-type]


def attr(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"attribute": {"field": field, "op": op, "value": value}}


def act(action: str, since: str | None = None, until: str | None = None, **more: Any) -> dict[str, Any]:
    window = {k: v for k, v in (("from", since), ("to", until)) if v is not None}
    return {"behavior": {"action": action, **window, **more}}


def ids(*numbers: int) -> set[str]:
    return {f"u{n:02d}" for n in numbers}


VIP = {"tag": {"tagId": "vip"}}
SPORTY = {"tag": {"tagId": "sporty"}}
SHANGHAI = attr("city", "eq", "Shanghai")
FEMALE = attr("gender", "eq", "female")
TWO_VIP_FRIENDS = {"friends": {"atLeast": 2, "who": VIP}}
SONIQUE_BUYER = act("bought", brand="Sonique")
CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("tag", VIP, ids(1, 2, 6, 9)),
    ("tag min weight", {"tag": {"tagId": "vip", "minWeight": 0.6}}, ids(1, 6, 9)),
    ("tag incl. expired", {"tag": {"tagId": "vip", "includeExpired": True}}, ids(1, 2, 3, 6, 9)),
    ("eq", SHANGHAI, ids(1, 2, 6, 10)),
    ("ne", attr("city", "ne", "Shanghai"), ids(3, 4, 5, 7, 9, 11)),
    ("in", attr("city", "in", ["Beijing", "Hangzhou"]), ids(3, 4, 5, 7)),
    ("between", attr("birthYear", "between", [1985, 1995]), ids(1, 2, 5, 6, 11)),
    ("lt", attr("birthYear", "lt", 1985), ids(4, 10)),
    ("gte", attr("birthYear", "gte", 2000), ids(3, 7)),
    ("missing", attr("gender", "exists", False), ids(8)),
    ("bool", attr("marketingConsent", "eq", False), ids(3, 8)),
    ("lifecycle", {"lifecycle": {"in": ["core", "loyal"]}}, ids(1, 2, 6)),
    ("persona", {"persona": {"in": ["persona-1"]}}, ids(1, 6)),
    ("community", {"community": {"in": ["social-1"]}}, ids(4, 5, 6, 7)),
    ("influence rank", {"influence": {"maxRank": 2}}, ids(1, 2)),
    ("influence score", {"influence": {"minScore": 0.06, "maxScore": 0.25}}, ids(2, 6)),
    ("bought sku", act("bought", sku="P3"), ids(2, 9)),
    ("bought twice", act("bought", sku="P3", minCount=2), ids(2)),
    ("bought since", act("bought", "2025-04-15", sku="P3"), ids(2, 9)),
    ("bought window", act("bought", "2025-04-15", "2025-04-30", sku="P3"), ids(9)),
    ("bought twice in window", act("bought", "2025-04-15", sku="P3", minCount=2), set()),
    ("bought last days", act("bought", category="Electronics", lastDays=30), ids(7)),
    ("bought brand", act("bought", brand="Voltra"), ids(1, 6)),
    ("two orders of a brand", act("bought", brand="Voltra", minCount=2), set()),  # o1 has 2 lines, 1 order
    ("bought category", act("bought", category="Electronics"), ids(2, 3, 4, 7, 9, 10)),
    ("bought subcategory", act("bought", category="Electronics/Audio"), ids(2, 3, 9, 10)),
    ("bought leaf", act("bought", category="Electronics/Audio/Speakers"), ids(3, 10)),
    ("viewed", act("viewed", sku="P3"), ids(5, 7)),
    ("viewed 2+", act("viewed", sku="P3", minCount=2), ids(5)),
    ("viewed window", act("viewed", "2025-04-10", "2025-04-30", sku="P3"), ids(5)),
    ("viewed 2+, all inside", act("viewed", "2025-03-25", "2025-04-30", sku="P3", minCount=2), ids(5)),
    ("viewed 2+, unprovable", act("viewed", "2025-04-10", "2025-04-30", sku="P3", minCount=2), set()),
    ("clicked category", act("clicked", category="Electronics"), ids(8)),
    ("liked brand", act("liked", brand="voltra"), ids(7)),
    ("acquired via", {"acquiredVia": {"channelId": "web"}}, ids(1, 3, 7, 10)),
    ("any friend", {"friends": {}}, ids(1, 2, 3, 4, 5, 6, 7, 10)),
    ("2 vip friends", {"friends": {"atLeast": 2, "who": VIP}}, ids(3)),
    ("a vip friend", {"friends": {"who": VIP}}, ids(1, 2, 3, 5, 7, 10)),
    ("friend bought", {"friends": {"who": SONIQUE_BUYER}}, ids(1, 3, 5, 6, 10)),  # u07 bought P4 recently
    ("followers 2+", {"followers": {"atLeast": 2}}, ids(1)),
    ("male follower", {"followers": {"who": attr("gender", "eq", "male")}}, ids(1, 6)),
    ("referral 1 hop", {"referralHops": {"userId": "u01"}}, ids(2)),
    ("referral 2 hops", {"referralHops": {"userId": "u01", "maxHops": 2}}, ids(2, 3)),
    ("referral 3 hops", {"referralHops": {"userId": "u01", "maxHops": 3}}, ids(2, 3, 4)),
    ("referral both ways", {"referralHops": {"userId": "u03"}}, ids(2, 4)),
    ("referral of audience", {"referralHops": {"of": VIP}}, ids(1, 2, 3, 10)),
    ("and not", {"and": [SHANGHAI, {"not": VIP}]}, ids(10)),
    ("or", {"or": [{"lifecycle": {"in": ["core"]}}, act("bought", category="Electronics/Audio/Speakers")]},
     ids(1, 3, 6, 10)),
    ("not keeps missing", {"not": SHANGHAI}, ids(3, 4, 5, 7, 8, 9, 11)),
    ("nested", {"and": [{"or": [VIP, SPORTY]}, {"not": {"acquiredVia": {"channelId": "web"}}}]},
     ids(2, 6, 9)),
    ("friends of friends", {"friends": {"who": {"friends": {"atLeast": 2, "who": VIP}}}}, ids(1, 2)),
    ("tag and city", {"and": [VIP, SHANGHAI]}, ids(1, 2, 6)),
    ("tag and relational", {"and": [VIP, {"friends": {"who": SONIQUE_BUYER}}]}, ids(1, 6)),
    ("bought and city", {"and": [act("bought", sku="P3"), SHANGHAI]}, ids(2)),
    ("referral and gender", {"and": [{"referralHops": {"userId": "u01", "maxHops": 3}}, FEMALE]}, ids(3)),
    ("relational anchor and rest", {"and": [{"friends": {"atLeast": 2, "who": VIP}}, {"not": VIP}]}, ids(3)),
    ("not relational", {"not": {"friends": {}}}, ids(8, 9, 11)),
    ("relational and index", {"and": [TWO_VIP_FRIENDS, attr("city", "eq", "Beijing")]}, ids(3)),
]  # fmt: skip


@pytest.mark.parametrize(("definition", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_exact_members(people: GraphStore, definition: dict[str, Any], expected: set[str]) -> None:
    got = members(people, definition)
    assert got == sorted(expected)
    assert count_audience(people, definition, purpose="analysis").count == len(expected)
    # The same tree as one per-user predicate (the single-user refresh path) agrees with the anchored plan.
    assert members_among(people, definition, USERS, purpose="analysis") == expected


def test_consent_leaves_users_out_and_says_how_many(people: GraphStore) -> None:
    anyone_with_a_friend: dict[str, Any] = {"friends": {}}  # u01-u07 and u10
    marketing = count_audience(people, anyone_with_a_friend, purpose="marketing")
    assert (marketing.count, marketing.excluded_by_consent) == (6, 2)  # u03 said no, u05 never said
    assert members(people, anyone_with_a_friend, "marketing") == ["u01", "u02", "u04", "u06", "u07", "u10"]
    personalised = count_audience(people, anyone_with_a_friend, purpose="personalised")
    assert (personalised.count, personalised.excluded_by_consent) == (7, 1)  # u02 opted out
    assert "u02" not in members(people, anyone_with_a_friend, "personalised")
    analysis = count_audience(people, anyone_with_a_friend, purpose="analysis")
    assert (analysis.count, analysis.excluded_by_consent) == (8, 0)
    with pytest.raises(AudienceError, match="purpose 'spam' is not one of"):
        count_audience(people, anyone_with_a_friend, purpose="spam")  # type: ignore[arg-type]


def test_breakdown_sums_to_the_count(people: GraphStore) -> None:
    definition: dict[str, Any] = {"friends": {}}
    by_city = breakdown(people, definition, by="city")
    assert dict(by_city) == {"Shanghai": 4, "Beijing": 2, "Hangzhou": 2}
    assert by_city[0] == ("Shanghai", 4)
    by_consent = breakdown(people, {"not": VIP}, by="marketingConsent")
    assert dict(by_consent) == {True: 4, False: 2, None: 1}
    for field in ("gender", "lifecycle", "birthYear"):
        assert sum(n for _, n in breakdown(people, {"not": VIP}, by=field)) == 7
    marketing = breakdown(people, definition, by="city", purpose="marketing")
    assert sum(n for _, n in marketing) == count_audience(people, definition, purpose="marketing").count
    with pytest.raises(AudienceError, match="cannot break down by 'influence'"):
        breakdown(people, definition, by="influence")


def test_export_streams_every_member_in_pages(people: GraphStore, tmp_path: Path) -> None:
    definition = {"not": attr("city", "eq", "Nowhere")}
    out = tmp_path / "audience.csv"
    rows = export_csv(people, definition, out, purpose="analysis", columns=("city",), page_size=2)
    assert rows == 11  # u08 has no city: `city = 'Nowhere'` is unknown, so NOT keeps u08
    with out.open(encoding="utf-8", newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0] == ["user_id", "city"]
    assert [r[0] for r in read[1:]] == members(people, definition)
    assert ["u11", NASTY] in read
    buffer = io.StringIO()
    assert export_csv(people, VIP, buffer, page_size=3) == 4
    assert buffer.getvalue().splitlines()[1:] == ["u01", "u02", "u06", "u09"]


def test_pages_are_stable_when_users_arrive_between_fetches(fresh_people: GraphStore) -> None:
    store = fresh_people
    everyone: dict[str, Any] = {"not": {"tag": {"tagId": "nobody-has-this"}}}
    page = audience_members(store, everyone, first=3, purpose="analysis")
    seen, before, after = list(page.users), [], []
    assert seen == ["u01", "u02", "u03"] and page.has_next
    while page.has_next:
        assert page.end_cursor is not None
        last = page.users[-1]  # new users sort just before and just after the cursor
        before.append(f"{last[:-1]}{chr(ord(last[-1]) - 1)}z")
        after.append(f"{last}a")
        store.driver.execute_query(
            "UNWIND $ids AS id CREATE (:User {userId: id})", ids=[before[-1], after[-1]]
        )
        page = audience_members(store, everyone, first=3, after=page.end_cursor, purpose="analysis")
        seen += page.users
    assert len(seen) == len(set(seen)) and seen == sorted(seen)  # no duplicates, in order
    assert set(USERS) <= set(seen)  # no pre-existing user skipped
    assert set(after) <= set(seen) and not set(before) & set(seen)
    with pytest.raises(InvalidPageError, match="after: not a cursor"):
        audience_members(store, everyone, after="not-a-cursor")
    with pytest.raises(InvalidPageError, match="first: must be between 1 and 1000"):
        audience_members(store, everyone, first=0)


def _in_audience(store: GraphStore, audience_id: str) -> list[str]:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User)-[:IN_AUDIENCE]->(:Audience {audienceId: $id}) RETURN u.userId AS id ORDER BY id",
        id=audience_id,
    )
    return [r["id"] for r in records]


def test_saved_audiences_keep_counts_and_membership(
    fresh_people: GraphStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import personagraph.graph.audiences.service as service

    store = fresh_people
    monkeypatch.setattr(service, "HISTORY_CAP", 3)
    saved = save_audience(store, audience_id="vips", name="VIPs", definition=VIP, owner="ana")
    assert (saved.name, saved.owner, saved.purpose, saved.counts) == ("VIPs", "ana", "marketing", [4])
    assert saved.definition == parse_definition(VIP) and len(saved.counted_at) == 1
    assert _in_audience(store, "vips") == ["u01", "u02", "u06", "u09"]
    store.driver.execute_query("MATCH (u:User {userId: 'u09'}) SET u.marketingConsent = false")
    assert refresh_saved_audiences(store, user_id="u09")[0].member is False
    assert _in_audience(store, "vips") == ["u01", "u02", "u06"]
    store.driver.execute_query(
        "MATCH (u:User {userId: 'u10'}), (t:Tag {tagId: 'vip'}) CREATE (u)-[:HAS_TAG {weight: 1.0}]->(t)"
    )
    for _ in range(3):
        (result,) = refresh_saved_audiences(store)
    assert result.count == 4
    assert _in_audience(store, "vips") == ["u01", "u02", "u06", "u10"]
    assert saved_audience(store, "vips").counts == [4, 4, 4]  # capped at 3 entries
    shanghai_vips = {"and": [VIP, SHANGHAI]}
    changed = save_audience(
        store, audience_id="vips", name="VIPs in Shanghai", owner="bo", definition=shanghai_vips
    )
    assert changed.counts == [4] and changed.owner == "bo"  # a new definition starts a new history
    assert _in_audience(store, "vips") == ["u01", "u02", "u06", "u10"]


def test_lookalikes_of_an_audience_are_not_its_members(people: GraphStore) -> None:
    found = expand_lookalike(people, SPORTY, first=5, purpose="analysis")
    assert found and len(found) <= 5
    assert not {f.user_id for f in found} & {"u06", "u10"}
    marketing = expand_lookalike(people, VIP, first=10)
    assert not {f.user_id for f in marketing} & {"u01", "u02", "u06", "u09", "u03", "u05", "u08"}


BAD: list[tuple[dict[str, Any] | str, str]] = [
    ({"and": [VIP, {"attribute": {"field": "salary", "op": "eq", "value": 1}}]},
     r"and\[1\]\.attribute\.field: 'salary' is not one of gender, birthYear"),
    ({"tag": {"tagId": "vip", "colour": "red"}}, r"tag\.colour: unknown field"),
    ({"salary": {"min": 1}}, r"definition: a condition is an object with exactly one key, one of and, or"),
    (attr("birthYear", "eq", "1990"),
     r"attribute\.value: birthYear takes int values, not '1990'"),
    ({"or": [VIP, {"tag": {"tagId": 7}}]}, r"or\[1\]\.tag\.tagId: Input should be a valid string"),
    (attr("city", "lt", "x"), r"attribute\.op: 'lt' is not one of eq, ne, in"),
    (attr("city", "like", "x"), r"attribute\.op: 'like' is not one of"),
    ({"behavior": {"action": "bought", "sku": "P1", "from": "2025-05-01", "to": "2025-04-01"}},
     r"behavior\.to: window ends .* before it starts"),
    ({"behavior": {"action": "bought", "sku": "P1", "from": "2025-05-01", "lastDays": 7}},
     r"behavior\.lastDays: give either lastDays or from/to"),
    (act("bought", sku="P1", lastDays=0), r"behavior\.lastDays: Input should be greater"),
    ({"behavior": {"action": "bought"}}, r"behavior: .*exactly one of sku, brand, category"),
    ({"behavior": {"action": "hugged", "sku": "P1"}}, r"behavior\.action: Input should be 'bought'"),
    ({"referralHops": {"userId": "u01", "maxHops": 4}}, r"referralHops\.maxHops: Input should be less than"),
    ({"friends": {"who": {"lifecycle": {"in": ["vip"]}}}}, r"friends\.who\.lifecycle\.in: 'vip' is not"),
    ({"and": []}, r"and: List should have at least 1 item"),
    ("{not json", r"definition: not valid JSON"),
]  # fmt: skip


@pytest.mark.parametrize(("definition", "message"), BAD)
def test_malformed_definitions_name_the_path(definition: dict[str, Any] | str, message: str) -> None:
    with pytest.raises(AudienceDefinitionError, match=message):
        parse_definition(definition)


def test_depth_and_size_limits() -> None:
    deep: dict[str, Any] = VIP
    for _ in range(8):
        deep = {"not": deep}
    with pytest.raises(
        AudienceDefinitionError, match=r"not\.not\.not\.not\.not\.not\.not\.not: nested more than 8"
    ):
        parse_definition(deep)
    absurd: dict[str, Any] = VIP
    for _ in range(10_000):
        absurd = {"and": [absurd]}
    with pytest.raises(AudienceDefinitionError, match="nested more than 8"):
        parse_definition(absurd)
    with pytest.raises(AudienceDefinitionError, match="201 conditions, more than the 200 allowed"):
        parse_definition({"or": [{"tag": {"tagId": f"t{i}"}} for i in range(200)]})


def test_values_never_become_cypher_text(people: GraphStore) -> None:
    hostile = "x' OR 1=1 //\"}) MATCH (n) DETACH DELETE n //"
    for definition in (
        {"attribute": {"field": "city", "op": "eq", "value": hostile}},
        {"tag": {"tagId": hostile}},
        {"behavior": {"action": "bought", "category": hostile}},
        {"referralHops": {"userId": hostile}},
    ):
        root = parse_definition(definition)
        for statement in (count_statement(root, "analysis"), members_statement(root, "analysis")):
            assert hostile not in statement.text and "1=1" not in statement.text
            assert hostile in statement.params.values()
        assert members(people, definition) == []
    assert members(people, {"attribute": {"field": "city", "op": "eq", "value": NASTY}}) == ["u11"]
    assert count_audience(people, {"friends": {}}, purpose="analysis").count == 8  # nothing was deleted


def test_lifecycle_tiers_match_the_segment_analysis() -> None:
    from personagraph.graph.analytics.lifecycle import TIERS

    assert tuple(TIERS) == LIFECYCLE_TIERS


def test_definitions_round_trip_as_json() -> None:
    from personagraph.graph.audiences.parse import definition_json

    for _, definition, _ in CASES:
        root = parse_definition(definition)
        assert parse_definition(definition_json(root)) == root
        assert parse_definition(json.loads(definition_json(root))) == root


def test_cli_commands(
    people: GraphStore, neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from personagraph.cli.audience import audience_app
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_AUDIT_LOG", str(tmp_path / "audit.log"))  # export writes an entry
    get_settings.cache_clear()
    definition = tmp_path / "vip.json"
    definition.write_text(json.dumps(VIP), encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(audience_app, ["count", str(definition)])
    assert done.exit_code == 0, done.output
    assert "4 users" in done.output and "0 left out" in done.output
    done = runner.invoke(audience_app, ["list", str(definition), "--first", "3"])
    assert done.exit_code == 0 and done.output.split()[:3] == ["u01", "u02", "u06"]
    cursor = done.output.strip().splitlines()[-1].split()[-1]
    done = runner.invoke(audience_app, ["list", str(definition), "--after", cursor])
    assert done.exit_code == 0 and done.output.split()[0] == "u09"
    out = tmp_path / "out.csv"
    done = runner.invoke(audience_app, ["export", str(definition), str(out), "--purpose", "analysis"])
    assert done.exit_code == 0 and out.read_text().split() == ["user_id", "u01", "u02", "u06", "u09"]
    done = runner.invoke(audience_app, ["breakdown", str(definition), "--by", "city"])
    assert done.exit_code == 0 and "Shanghai" in done.output and "Shenzhen" in done.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tag": {"tagId": "vip", "colour": 1}}), encoding="utf-8")
    done = runner.invoke(audience_app, ["count", str(bad)])
    assert done.exit_code != 0 and isinstance(done.exception, AudienceDefinitionError)
    get_settings.cache_clear()


def test_cli_save(fresh_people: GraphStore, neo4j_env: dict[str, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from personagraph.cli.audience import audience_app
    from personagraph.graph.settings import get_settings

    get_settings.cache_clear()
    definition = tmp_path / "vip.json"
    definition.write_text(json.dumps(VIP), encoding="utf-8")
    done = CliRunner().invoke(
        audience_app, ["save", "vips", str(definition), "--name", "VIPs", "--owner", "ana"]
    )
    assert done.exit_code == 0, done.output
    assert saved_audience(fresh_people, "vips").counts == [4]
    get_settings.cache_clear()

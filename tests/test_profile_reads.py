"""The batched, typed user reads behind the GraphQL DataLoaders, on a tiny hand-made graph."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from neo4j import Driver

from personagraph.graph.paging import InvalidPageError, check_first, decode_cursor, encode_cursor
from personagraph.graph.profiles.read import (
    GraphEdge,
    channels_of,
    get_user,
    get_users,
    identities_of,
    neighborhood,
    order_cursor,
    orders_pages,
    tags_of,
    tie_cursor,
    ties_pages,
)
from personagraph.graph.profiles.write import UserInputError, upsert_user
from personagraph.graph.records import RowContext, hash_identity
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset, load_file
from tests.api_support import reused_graph

MARKER = "profile-reads-test-data-v2"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
SEGMENTED_AT = datetime(2025, 5, 31, 23, 0, 0, 123000, tzinfo=UTC)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _write(folder: Path, files: dict[str, list[list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for kind, rows in files.items():
        (folder / f"{kind}.csv").write_text(_csv(rows), encoding="utf-8")
    return folder


# Social ties (friendship stored from the smaller id, read both ways):
#   u01 friends u02, u03, u05; u03 friends u04; u02 and u04 follow u01; u01 follows u06;
#   u06 referred u07; u07 follows u08; u09 has no ties.
PEOPLE: dict[str, list[list[str]]] = {
    "channels": [["channel_id", "name", "kind"], ["web", "Website", "online"], ["app", "App", "online"],
                 ["wechat", "WeChat", "social"]],
    "products": [["sku", "name", "price"], ["P1", "e-bike", "100"], ["P2", "helmet", "20"],
                 ["P3", "bell", ""]],
    "users": [
        ["user_id", "gender", "birth_year", "city", "acquired_via", "acquired_at"],
        ["u01", "female", "1990", "Shanghai", "web", "2024-01-01T00:00:00Z"],
        ["u02", "male", "1985", "Hangzhou", "app", ""],
        *[[f"u0{i}", "", "", f"City{i}", "", ""] for i in range(3, 10)],
    ],
    "identities": [["user_id", "kind", "value"], ["u01", "email", "Ann@Example.com"],
                   ["u01", "phone", "+86 138 0000 0000"], ["u02", "email", "bo@example.com"]],
    "tags": [["tag_id", "name", "tier"], ["vip", "VIP", "basic"], ["runner", "Runner", "preference"],
             ["night_owl", "Night owl", "behavior"]],
    "user_tags": [
        ["user_id", "tag_id", "weight", "source", "expires_at"],
        ["u01", "vip", "0.9", "manual", ""],
        ["u01", "runner", "0.5", "manual", "2099-01-01"],
        ["u01", "night_owl", "0.9", "model", "2020-01-01"],
        ["u02", "runner", "0.7", "manual", ""],
    ],
    "orders": [
        ["order_id", "user_id", "sku", "ordered_at", "quantity", "unit_price", "channel_id"],
        ["o1", "u01", "P1", "2024-03-01T10:00:00Z", "1", "100", "app"],
        ["o1", "u01", "P2", "2024-03-01T10:00:00Z", "2", "20", "app"],
        ["o2", "u01", "P3", "2024-03-05T10:00:00Z", "1", "", "app"],
        ["o3", "u01", "P2", "2024-03-05T10:00:00Z", "1", "20", "web"],
        ["o4", "u01", "P1", "2024-02-01T10:00:00Z", "1", "90", ""],
    ],
    "ties": [
        ["src_user_id", "dst_user_id", "kind"],
        ["u01", "u02", "friend"], ["u03", "u01", "friend"], ["u05", "u01", "friend"],
        ["u04", "u03", "friend"],
        ["u02", "u01", "follows"], ["u04", "u01", "follows"], ["u01", "u06", "follows"],
        ["u06", "u07", "referred"], ["u07", "u08", "follows"],
    ],
}  # fmt: skip


def load_people(store: GraphStore, folder: Path) -> None:
    reports = load_dataset(store, _write(folder, PEOPLE), options=LoadOptions(rejects_dir=folder / "rejects"))
    assert all(r.rejected == 0 for r in reports), [r.as_dict() for r in reports]
    # What a rule, segments and personas would have written.
    store.write(
        "tags/write/tags_set_rule",
        rows=[{"userId": "u02", "tagId": "night_owl", "weight": 0.4, "evidence": ["orders at 2am"]}],
        userIds=["u02"],
        keep={"u02": ["night_owl"]},
        ruleId="night-orders",
        asOf=NOW,
        expiresAt=None,
    )
    store.driver.execute_query(
        "MATCH (u:User {userId: $id}) SET u += $props "
        "CREATE (u)-[:HAS_PERSONA]->(:Persona {personaId: $persona, name: $name}) "
        "CREATE (:Community {communityId: 'social-1', kind: 'social', size: 6, topCity: 'Shanghai'})",
        id="u01",
        persona="p1",
        name="Urban rider",
        props={
            "persona": "p1",
            "lifecycle": "core",
            "rfmR": 5,
            "rfmF": 4,
            "rfmM": 3,
            "rfmScore": "543",
            "segmentRunId": "run-1",
            "segmentComputedAt": SEGMENTED_AT,
            "influence": 0.25,
            "influenceRank": 1,
            "customerId": "u01",
            "socialCommunity": "social-1",
        },
    )


@pytest.fixture
def people(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> GraphStore:
    """The people graph, loaded once and reused while no other test has touched the graph."""
    return reused_graph(
        driver, neo4j_connection, MARKER, 9, lambda s: load_people(s, tmp_path_factory.mktemp("people"))
    )


@pytest.fixture
def fresh_people(store: GraphStore, tmp_path: Path) -> GraphStore:
    """The people graph for a test that changes it (no marker, so the next reader reloads)."""
    load_people(store, tmp_path / "people")
    return store


# --- paging helpers ------------------------------------------------------------------------------


def test_cursors_round_trip_and_refuse_other_kinds_and_garbage() -> None:
    cursor = encode_cursor("orders", 1700000000, 5, "o/1 é")
    assert decode_cursor("orders", cursor) == ["1700000000", "5", "o/1 é"]
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    with pytest.raises(InvalidPageError, match=r"^after: not a cursor this API issued"):
        decode_cursor("friends", cursor)
    not_json = base64.urlsafe_b64encode(b"u01").decode()
    for garbage in ("", "%%%", "not a cursor", not_json, "x" * 5000):
        with pytest.raises(InvalidPageError, match=r"^after: "):
            decode_cursor("orders", garbage)


def test_check_first_names_the_argument() -> None:
    assert check_first(1) == 1 and check_first(100) == 100 and check_first(7, cap=7) == 7
    for bad in (0, -1, 101, True):
        with pytest.raises(InvalidPageError, match=r"^first: must be between 1 and 100, got"):
            check_first(bad)
    with pytest.raises(InvalidPageError, match=r"got 0"):
        check_first(0)


# --- users, tags, identities, channels -----------------------------------------------------------


def test_get_users_keeps_input_order_and_skips_unknown_ids(people: GraphStore) -> None:
    found = get_users(people, user_ids=["u03", "nobody", "u01"])
    assert list(found) == ["u03", "u01"]
    u01 = found["u01"]
    assert u01.city == "Shanghai" and u01.birth_year == 1990 and u01.gender == "female"
    assert (u01.persona, u01.lifecycle, u01.rfm_score, u01.rfm_r, u01.customer_id) == (
        "p1",
        "core",
        "543",
        5,
        "u01",
    )
    assert u01.influence == 0.25 and u01.influence_rank == 1 and u01.degree is None
    assert u01.segment_computed_at == SEGMENTED_AT and u01.segment_computed_at.tzinfo is not None
    assert found["u03"].persona is None and found["u03"].segment_computed_at is None
    assert get_users(people, user_ids=[]) == {}
    assert get_user(people, user_id="u01") == u01


def test_tags_heaviest_first_without_expired_unless_asked(people: GraphStore) -> None:
    tags = tags_of(people, user_ids=["u01", "u02", "u09", "nobody"], now=NOW)
    assert list(tags) == ["u01", "u02", "u09", "nobody"]
    assert [(t.tag_id, t.weight) for t in tags["u01"]] == [("vip", 0.9), ("runner", 0.5)]
    vip = tags["u01"][0]
    assert (vip.name, vip.tier, vip.source, vip.rule_id, vip.evidence) == ("VIP", "basic", "manual", None, [])
    assert vip.assigned_at is not None and vip.assigned_at.tzinfo is not None and vip.expires_at is None
    assert tags["u01"][1].expires_at == datetime(2099, 1, 1, tzinfo=UTC)
    rule = tags["u02"][1]
    assert (rule.tag_id, rule.source, rule.rule_id, rule.evidence) == (
        "night_owl",
        "rule",
        "night-orders",
        ["orders at 2am"],
    )
    assert tags["u09"] == [] and tags["nobody"] == []

    everything = tags_of(people, user_ids=["u01"], include_expired=True, now=NOW)["u01"]
    assert [t.tag_id for t in everything] == ["night_owl", "vip", "runner"]  # equal weights: by tagId
    assert [t.tag_id for t in tags_of(people, user_ids=["u01"], tier="preference", now=NOW)["u01"]] == [
        "runner"
    ]
    # expiry is judged at `now`: in 2100 the runner tag has expired too
    assert [t.tag_id for t in tags_of(people, user_ids=["u01"], now=datetime(2100, 1, 1))["u01"]] == ["vip"]


def test_identities_are_the_stored_hashes(people: GraphStore) -> None:
    found = identities_of(people, user_ids=["u01", "u09"])
    assert [i.kind for i in found["u01"]] == ["email", "phone"]
    # loaded without a salt: keyed by the deployment's key (graph.secrets.identity_key), never unkeyed
    assert found["u01"][0].value == hash_identity("email", "Ann@Example.com", RowContext().identity_key())
    assert found["u09"] == []


def test_channels_acquisition_first_then_by_orders(people: GraphStore) -> None:
    found = channels_of(people, user_ids=["u01", "u02", "u09"])
    summary = [(c.channel_id, c.acquired, c.orders) for c in found["u01"]]
    assert summary == [("web", True, 1), ("app", False, 2)]
    web = found["u01"][0]
    assert web.name == "Website" and web.kind == "online"
    assert web.acquired_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert [(c.channel_id, c.acquired, c.orders) for c in found["u02"]] == [("app", True, 0)]
    assert found["u09"] == []


# --- orders --------------------------------------------------------------------------------------


def test_orders_newest_first_with_lines_and_totals(people: GraphStore) -> None:
    pages = orders_pages(people, user_ids=["u01", "u02", "nobody"], first=10)
    assert list(pages) == ["u01", "u02", "nobody"]
    page = pages["u01"]
    assert [o.order_id for o in page.items] == ["o2", "o3", "o1", "o4"]  # o2 and o3 tie on time: by id
    assert page.total == 4 and not page.has_next and page.end_cursor == order_cursor(page.items[-1])
    o1 = page.items[2]
    assert o1.ordered_at == datetime(2024, 3, 1, 10, tzinfo=UTC) and o1.channel_id == "app"
    assert [(line.sku, line.name, line.quantity, line.unit_price) for line in o1.lines] == [
        ("P1", "e-bike", 1, 100.0),
        ("P2", "helmet", 2, 20.0),
    ]
    assert o1.total == 140.0
    assert page.items[0].total == 0.0 and page.items[0].lines[0].unit_price is None  # unpriced line
    assert page.items[3].channel_id is None
    for empty in (pages["u02"], pages["nobody"]):
        assert empty.items == [] and empty.end_cursor is None and not empty.has_next and empty.total == 0


def test_orders_pages_are_stable_when_a_newer_order_arrives(fresh_people: GraphStore, tmp_path: Path) -> None:
    first = orders_pages(fresh_people, user_ids=["u01"], first=2)["u01"]
    assert [o.order_id for o in first.items] == ["o2", "o3"] and first.has_next and first.total == 4
    assert first.end_cursor is not None
    newer = [["order_id", "user_id", "sku", "ordered_at"], ["o5", "u01", "P1", "2024-04-01T00:00:00Z"]]
    (tmp_path / "orders.csv").write_text(_csv(newer), encoding="utf-8")
    load_file(fresh_people, tmp_path / "orders.csv", options=LoadOptions(rejects_dir=tmp_path))
    second = orders_pages(fresh_people, user_ids=["u01"], first=2, after=first.end_cursor)["u01"]
    assert [o.order_id for o in second.items] == ["o1", "o4"] and not second.has_next and second.total == 5
    top = orders_pages(fresh_people, user_ids=["u01"], first=1)["u01"]
    assert [o.order_id for o in top.items] == ["o5"]


def test_orders_refuse_bad_first_and_foreign_cursors(people: GraphStore) -> None:
    for bad in (0, 101):
        with pytest.raises(InvalidPageError, match=rf"^first: must be between 1 and 100, got {bad}"):
            orders_pages(people, user_ids=["u01"], first=bad)
    friends = tie_cursor("friends", "u02")
    for cursor in ("garbage", friends, encode_cursor("orders", "soon", 0, "o1"), encode_cursor("orders", 1)):
        with pytest.raises(InvalidPageError, match=r"^after: not a cursor this API issued"):
            orders_pages(people, user_ids=["u01"], first=2, after=cursor)


# --- ties ----------------------------------------------------------------------------------------


def test_ties_by_kind(people: GraphStore) -> None:
    def ids(kind: str, user: str = "u01") -> list[str]:
        page = ties_pages(people, user_ids=[user], kind=kind, first=10)[user]  # type: ignore[arg-type]
        assert page.total == len(page.items)
        return [u.user_id for u in page.items]

    assert ids("friends") == ["u02", "u03", "u05"]
    assert ids("friends", "u03") == ["u01", "u04"]  # read undirected
    assert ids("followers") == ["u02", "u04"]
    assert ids("following") == ["u06"]
    assert ids("following", "u09") == []
    page = ties_pages(people, user_ids=["u01"], kind="friends", first=10)["u01"]
    assert page.items[0].city == "Hangzhou"  # whole profiles
    assert ties_pages(people, user_ids=["nobody"], kind="followers", first=3)["nobody"].total == 0


def test_ties_pages_are_stable_when_a_friend_is_added(fresh_people: GraphStore, tmp_path: Path) -> None:
    first = ties_pages(fresh_people, user_ids=["u01", "u03"], kind="friends", first=2)
    assert [u.user_id for u in first["u01"].items] == ["u02", "u03"] and first["u01"].has_next
    assert first["u01"].total == 3 and not first["u03"].has_next
    cursor = first["u01"].end_cursor
    assert cursor == tie_cursor("friends", "u03")
    new = {
        "users": [["user_id"], ["u00"]],
        "ties": [["src_user_id", "dst_user_id", "kind"], ["u00", "u01", "friend"]],
    }
    load_dataset(fresh_people, _write(tmp_path / "new", new), options=LoadOptions(rejects_dir=tmp_path))
    second = ties_pages(fresh_people, user_ids=["u01"], kind="friends", first=2, after=cursor)["u01"]
    assert [u.user_id for u in second.items] == ["u05"] and not second.has_next and second.total == 4
    assert second.end_cursor == tie_cursor("friends", "u05")


def test_ties_refuse_bad_first_and_cursors_of_another_list(people: GraphStore) -> None:
    with pytest.raises(InvalidPageError, match=r"^first: "):
        ties_pages(people, user_ids=["u01"], kind="followers", first=0)
    with pytest.raises(InvalidPageError, match=r"^after: "):
        ties_pages(people, user_ids=["u01"], kind="followers", first=2, after=tie_cursor("friends", "u02"))
    with pytest.raises(InvalidPageError, match=r"^kind: "):
        ties_pages(people, user_ids=["u01"], kind="enemies", first=2)  # type: ignore[arg-type]


# --- neighbourhood -------------------------------------------------------------------------------


def _users(found: object) -> list[str]:
    assert found is not None
    return [n.key for n in found.nodes if n.label == "User"]  # type: ignore[attr-defined]


def test_neighborhood_depth_one_with_the_centres_extras(people: GraphStore) -> None:
    found = neighborhood(people, user_id="u01")
    assert found is not None and found.center == "User:u01" and not found.truncated
    assert _users(found) == ["u01", "u02", "u03", "u04", "u05", "u06"]
    assert found.nodes[0].caption == "Shanghai"
    extras = [(n.id, n.caption) for n in found.nodes if n.label != "User"]
    assert extras == [("Tag:runner", "Runner"), ("Tag:vip", "VIP"), ("Channel:web", "Website"),
                      ("Persona:p1", "Urban rider"), ("Community:social-1", "social-1 (Shanghai)"),
                      ("Product:P1", "e-bike"), ("Product:P2", "helmet"), ("Product:P3", "bell")]  # fmt: skip
    assert {(e.source, e.target, e.type) for e in found.edges} == {
        ("User:u01", "User:u02", "FRIEND_OF"),
        ("User:u01", "User:u03", "FRIEND_OF"),
        ("User:u01", "User:u05", "FRIEND_OF"),
        ("User:u03", "User:u04", "FRIEND_OF"),  # a tie between two neighbours
        ("User:u02", "User:u01", "FOLLOWS"),
        ("User:u04", "User:u01", "FOLLOWS"),
        ("User:u01", "User:u06", "FOLLOWS"),
        ("User:u01", "Tag:runner", "HAS_TAG"),
        ("User:u01", "Tag:vip", "HAS_TAG"),
        ("User:u01", "Channel:web", "ACQUIRED_VIA"),
        ("User:u01", "Persona:p1", "HAS_PERSONA"),
        ("User:u01", "Community:social-1", "IN_COMMUNITY"),
        ("User:u01", "Product:P1", "BOUGHT"),  # in two orders, as P2
        ("User:u01", "Product:P2", "BOUGHT"),
        ("User:u01", "Product:P3", "BOUGHT"),
    }
    ids = {n.id for n in found.nodes}
    assert all(e.source in ids and e.target in ids for e in found.edges)


def test_neighborhood_depth_limit_and_truncation(people: GraphStore) -> None:
    assert _users(neighborhood(people, user_id="u01", depth=2)) == [
        "u01",
        "u02",
        "u03",
        "u04",
        "u05",
        "u06",
        "u07",
    ]
    deep = neighborhood(people, user_id="u01", depth=3)
    assert _users(deep) == ["u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08"]
    assert deep is not None and not deep.truncated
    assert GraphEdge(source="User:u07", target="User:u08", type="FOLLOWS") in deep.edges
    small = neighborhood(people, user_id="u01", depth=3, limit=3)
    assert small is not None and small.truncated and _users(small) == ["u01", "u02", "u03"]
    exact = neighborhood(people, user_id="u01", depth=1, limit=6)
    assert exact is not None and not exact.truncated  # the ring fits exactly
    full = neighborhood(people, user_id="u01", depth=2, limit=6)
    assert full is not None and full.truncated and len(_users(full)) == 6  # u07 did not fit
    alone = neighborhood(people, user_id="u09", depth=3, limit=1)
    assert alone is not None and _users(alone) == ["u09"] and not alone.truncated and alone.edges == []
    assert neighborhood(people, user_id="nobody") is None


def test_neighborhood_refuses_bad_depth_and_limit(people: GraphStore) -> None:
    for depth in (0, 4):
        with pytest.raises(InvalidPageError, match=rf"^depth: must be between 1 and 3, got {depth}"):
            neighborhood(people, user_id="u01", depth=depth)
    for limit in (0, 501):
        with pytest.raises(InvalidPageError, match=rf"^limit: must be between 1 and 500, got {limit}"):
            neighborhood(people, user_id="u01", limit=limit)


def test_neighborhood_around_a_hub_stays_bounded(store: GraphStore) -> None:
    store.driver.execute_query(
        "CREATE (h:User {userId: 'hub'}) WITH h UNWIND range(0, $n - 1) AS i "
        "CREATE (h)-[:FRIEND_OF]->(:User {userId: 'f' + right('00' + toString(i), 3)})",
        n=300,
    )
    at_hub = neighborhood(store, user_id="hub", depth=3, limit=20)
    assert at_hub is not None and at_hub.truncated
    assert _users(at_hub) == ["hub", *[f"f{i:03d}" for i in range(19)]]  # the hub's ring, ranked exactly
    assert len(at_hub.edges) == 19
    via_hub = neighborhood(store, user_id="f299", depth=3, limit=50)
    assert via_hub is not None and via_hub.truncated
    assert _users(via_hub) == ["f299", "hub", *[f"f{i:03d}" for i in range(48)]]


# --- upsert --------------------------------------------------------------------------------------


def test_upsert_creates_then_updates_only_given_fields(fresh_people: GraphStore) -> None:
    created = upsert_user(
        fresh_people,
        user_id="u10",
        fields={"gender": "Female", "birth_year": "1990", "city": "Beijing", "marketing_consent": "yes",
                "acquired_via": "wechat", "acquired_at": "2024-05-01"},
    )  # fmt: skip
    assert (created.user_id, created.gender, created.birth_year, created.city) == (
        "u10",
        "female",
        1990,
        "Beijing",
    )
    assert created.marketing_consent is True and created.age_band is not None
    channel = channels_of(fresh_people, user_ids=["u10"])["u10"]
    assert [(c.channel_id, c.acquired, c.acquired_at) for c in channel] == [
        ("wechat", True, datetime(2024, 5, 1, tzinfo=UTC))
    ]

    updated = upsert_user(fresh_people, user_id="u10", fields={"city": "Shenzhen", "birth_year": 1960})
    assert updated.city == "Shenzhen" and updated.birth_year == 1960 and updated.age_band == "65+"
    assert updated.gender == "female" and updated.marketing_consent is True  # not given: unchanged
    assert [c.channel_id for c in channels_of(fresh_people, user_ids=["u10"])["u10"]] == ["wechat"]

    moved = upsert_user(fresh_people, user_id="u01", fields={"acquired_via": "app", "region": ""})
    assert moved.city == "Shanghai" and moved.persona == "p1"  # analytics results kept too
    channels = channels_of(fresh_people, user_ids=["u01"])["u01"]
    assert [(c.channel_id, c.acquired, c.orders) for c in channels] == [("app", True, 2), ("web", False, 1)]


def test_upsert_validation_errors_name_the_fields(fresh_people: GraphStore) -> None:
    with pytest.raises(UserInputError, match=r"^birth_year: ") as bad_year:
        upsert_user(fresh_people, user_id="u10", fields={"birth_year": "abc", "city": "X"})
    assert bad_year.value.fields == ("birth_year",)
    with pytest.raises(UserInputError, match=r"birth_year: .*; marketing_consent: ") as two:
        upsert_user(fresh_people, user_id="u10", fields={"birth_year": "1800", "marketing_consent": "maybe"})
    assert two.value.fields == ("birth_year", "marketing_consent")
    with pytest.raises(UserInputError, match=r"^acquired_via: no channel 'tiktok'"):
        upsert_user(fresh_people, user_id="u10", fields={"acquired_via": "tiktok"})
    with pytest.raises(UserInputError, match=r"^nickname: not a user field"):
        upsert_user(fresh_people, user_id="u10", fields={"nickname": "Z"})
    with pytest.raises(UserInputError, match=r"^user_id: "):
        upsert_user(fresh_people, user_id="", fields={"city": "X"})
    with pytest.raises(UserInputError, match=r"^acquired_at: "):
        upsert_user(fresh_people, user_id="u10", fields={"acquired_at": "2024-01-01"})
    assert get_user(fresh_people, user_id="u10") is None  # nothing written by a refused upsert


def test_upsert_stores_what_the_loader_would(store: GraphStore, tmp_path: Path) -> None:
    row = {
        "user_id": "u01",
        "gender": "MALE",
        "birth_year": "1988",
        "city": " Wuhan ",
        "personalization_opt_out": "1",
    }
    load_dataset(store, _write(tmp_path / "a", {"users": [list(row), list(row.values())]}),
                 options=LoadOptions(rejects_dir=tmp_path))  # fmt: skip
    loaded = get_user(store, user_id="u01")
    store.run_autocommit("server/write/wipe_data")
    assert (
        upsert_user(store, user_id="u01", fields={k: v for k, v in row.items() if k != "user_id"}) == loaded
    )

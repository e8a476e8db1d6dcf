"""Every entity kind through the real pipeline into the real Neo4j: rejects, idempotency, formats."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from personagraph.graph.records import RowContext, hash_identity
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset, load_file
from personagraph.loaders.readers import UnusableInputError
from tests.graph_support import behaviour_totals_drift

FILES = {
    "channels.csv": "channel_id,name,kind\nweb,Web, ONLINE \napp,App,online\n",
    "products.csv": "sku,name,brand,category,price,currency\n"
    "P1,Bike,Voltra,Vehicles/E-bikes,1899,cny\nP2,Helmet,Voltra,Vehicles/Accessories,199,CNY\n",
    "users.csv": "user_id,gender,birth_year,city,marketing_consent,acquired_via,acquired_at\n"
    "u1,F,1990,Shanghai,yes,web,2024-01-02T03:04:05Z\n"
    "u2,m,1985,Beijing,0,app,1704164645\n"
    "u3,,1700,Chengdu,true,web,\n"  # line 4: birth year out of range
    "u4,f,2000,Hangzhou,maybe,web,\n"  # line 5: not a boolean
    "u5,m,1999,Shanghai,true,nowhere,\n",  # line 6: unknown channel
    "identities.csv": "user_id,kind,value\nu1,email, Ann@Example.com \nu2,phone,+86 138-0000-1234\n"
    "u9,email,ghost@example.com\n",  # line 4: unknown user
    "tags.csv": "tag_id,name,tier,parent_id,description\nvalue,Value seeker,preference,,\n"
    "cheap-electronics,Cheap electronics,preference,value,\nnight,Night owl,behaviour,,\n",  # bad tier
    "user_tags.csv": "user_id,tag_id,weight,source\nu1,value,0.8,manual\nu2,value,,\nu1,nope,1,\n",
    "orders.csv": "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id\n"
    "o1,u1,P1,2025-05-01T12:00:00Z,1,1899,web\n"
    "o1,u1,P2,2025-05-01T12:00:00Z,2,199,web\n"
    "o1,u1,P2,2025-05-01T12:00:00Z,2,199,web\n"  # exact duplicate: dropped and counted
    "o2,u2,P9,2025-05-02T12:00:00Z,1,10,app\n"  # unknown sku
    "o3,u2,P1,2025-05-02T12:00:00Z,-2,10,app\n",  # non-positive quantity
    "events.csv": "event_id,user_id,kind,at,target,channel_id\n"
    "e1,u1,view,2025-05-01T23:10:00Z,P1,web\n"
    "e2,u1,VIEW,2025-05-02T23:20:00Z,P1,web\n"
    "e3,u1,search,2025-05-02T23:25:00Z,  E-Bike   Helmet ,web\n"
    "e4,u2,click,2025-05-03T08:00:00Z,P2,app\n"
    "e5,u2,teleport,2025-05-03T08:00:00Z,P2,app\n"  # unknown kind
    "e6,u2,view,not-a-time,P2,app\n",  # bad time
    "ties.csv": "src_user_id,dst_user_id,kind,since\nu2,u1,friend,2024-01-01\nu1,u2,follows,\n"
    "u1,u1,friend,\n"  # self tie
    "u1,u77,referred,\n",  # unknown user
}
EXPECTED_REJECTS = {
    "users": [4, 5, 6],
    "identities": [4],
    "tags": [4],
    "user_tags": [4],
    "orders": [5, 6],
    "events": [6, 7],
    "ties": [4, 5],
}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _options(tmp_path: Path, **overrides: object) -> LoadOptions:
    base = {
        "batch_size": 2,
        "rejects_dir": tmp_path / "rejects",
        "context": RowContext(identity_salt="s3cret"),
    }
    return LoadOptions(**{**base, **overrides})  # type: ignore[arg-type]


def _one(store: GraphStore, query: str) -> object:
    records, _, _ = store.driver.execute_query(query)
    return records[0][0]


def _census(store: GraphStore) -> tuple[object, object]:
    return (
        _one(store, "MATCH (n) WHERE NOT n:SchemaMigration RETURN count(n)"),
        _one(store, "MATCH ()-[r]->() RETURN collect(DISTINCT [type(r), properties(r)])"),
    )


def test_each_kind_loads_and_bad_rows_are_rejected_with_line_and_reason(
    store: GraphStore, dataset: Path, tmp_path: Path
) -> None:
    reports = {r.kind: r for r in load_dataset(store, dataset, options=_options(tmp_path))}
    for kind, lines in EXPECTED_REJECTS.items():
        report: FileReport = reports[kind]
        assert report.rejected == len(lines), kind
        assert report.rejects_file is not None
        rejects = [json.loads(x) for x in report.rejects_file.read_text().splitlines()]
        assert sorted(r["line"] for r in rejects) == lines, kind
        assert all(r["reason"] and r["field"] for r in rejects)
    assert reports["orders"].duplicates == 1 and reports["orders"].loaded == 2
    reasons = {
        json.loads(x)["reason"] for x in (tmp_path / "rejects" / "orders.jsonl").read_text().splitlines()
    }
    assert "unknown sku 'P9': no such product" in reasons
    assert any("greater than 0" in r for r in reasons)

    assert _one(store, "MATCH (u:User) RETURN count(u)") == 2
    assert _one(
        store, "MATCH (u:User {userId:'u1'}) RETURN [u.gender, u.marketingConsent, u.ageBand IS NOT NULL]"
    ) == ["f", True, True]
    assert _one(
        store, "MATCH (:User {userId:'u2'})-[a:ACQUIRED_VIA]->(c) RETURN [c.channelId, a.at.year]"
    ) == ["app", 2024]
    assert _one(store, "MATCH (c:Channel {channelId:'web'}) RETURN c.kind") == "online"
    assert _one(store, "MATCH (c:Category)-[:SUBCATEGORY_OF]->(p:Category) RETURN count(c)") == 2
    assert _one(store, "MATCH (o:Order {orderId:'o1'})-[l:CONTAINS]->() RETURN sum(l.quantity)") == 3
    assert _one(store, "MATCH (:Tag {tagId:'cheap-electronics'})-[:CHILD_OF]->(t) RETURN t.tagId") == "value"
    assert _one(store, "MATCH (:User)-[h:HAS_TAG]->() RETURN collect(h.weight)") in ([0.8, 1.0], [1.0, 0.8])
    assert _one(store, "MATCH (a:User)-[:FRIEND_OF]->(b:User) RETURN [a.userId, b.userId]") == ["u1", "u2"]


def test_identities_are_hashed_never_raw(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    load_dataset(store, dataset, options=_options(tmp_path))
    values = _one(store, "MATCH (i:Identity) RETURN collect(i.value)")
    assert isinstance(values, list) and len(values) == 2
    assert hash_identity("email", "ann@example.com", "s3cret") in values
    assert hash_identity("phone", "8613800001234", "s3cret") in values
    everything = str(_one(store, "MATCH (n) RETURN collect(properties(n))"))
    assert "example.com" not in everything.lower() and "1234" not in everything.replace(
        hash_identity("phone", "8613800001234", "s3cret"), ""
    )


def test_events_fold_into_counted_edges(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    load_dataset(store, dataset, options=_options(tmp_path))
    viewed = _one(
        store,
        "MATCH (:User {userId:'u1'})-[r:VIEWED]->(:Product {sku:'P1'}) "
        "RETURN [r.count, r.firstAt.day, r.lastAt.day, r.hourCounts[23]]",
    )
    assert viewed == [2, 1, 2, 2]
    assert _one(store, "MATCH (:User {userId:'u1'})-[r:SEARCHED]->(s) RETURN s.term") == "e-bike helmet"
    assert _one(store, "MATCH ()-[r:CLICKED]->() RETURN r.count") == 1


def test_users_keep_their_behaviour_totals(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    """u.eventHours (what the night_activity rule reads) is the sum of the user's behaviour edges' hours,
    u.lastEventAt (what the graph's data time reads) their latest, after a load, a reload and new events
    on an edge the user has."""
    from personagraph.graph.as_of import data_time

    load_dataset(store, dataset, options=_options(tmp_path))
    late = "MATCH (u:User {userId:'u1'}) RETURN u.eventHours[23]"
    before = _one(store, late)
    assert isinstance(before, int) and before >= 2  # u1 viewed P1 twice at 23:00
    extra = tmp_path / "more_events.csv"
    extra.write_text(
        "user_id,kind,at,target\nu1,view,2029-06-03T23:30:00Z,P1\nu1,search,2029-06-03T09:00:00Z,bikes\n"
    )
    for _ in range(2):
        load_file(store, extra, kind="events", options=_options(tmp_path))
    assert _one(store, late) == before + 1
    assert behaviour_totals_drift(store) == []
    known = data_time(store)
    assert known is not None and known.at.isoformat() == "2029-06-03T23:30:00+00:00"


def test_the_migrations_compute_behaviour_totals_for_a_graph_loaded_before_them(
    store: GraphStore, dataset: Path, tmp_path: Path
) -> None:
    from personagraph.graph.server.migrations import migrations

    load_dataset(store, dataset, options=_options(tmp_path))
    store.driver.execute_query("MATCH (u:User) REMOVE u.eventHours, u.lastEventAt")
    assert behaviour_totals_drift(store) != []
    totals = [m for m in migrations() if m.name in ("user_event_hours", "user_last_event")]
    assert len(totals) == 2
    for _ in range(2):  # idempotent
        for statement in (s for m in totals for s in m.statements):
            store.run_text(statement)
        assert behaviour_totals_drift(store) == []


def test_loading_twice_changes_nothing(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    load_dataset(store, dataset, options=_options(tmp_path))
    first = _census(store)
    again = load_dataset(store, dataset, options=_options(tmp_path, batch_size=3))
    assert _census(store) == first
    assert sum(r.counts.nodes_created + r.counts.relationships_created for r in again) == 0


def test_events_without_ids_are_reload_safe(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    load_dataset(store, dataset, options=_options(tmp_path))
    extra = tmp_path / "more_events.csv"
    extra.write_text(
        "user_id,kind,at,target\nu2,view,2025-06-01T10:00:00Z,P1\nu2,view,2025-06-02T10:00:00Z,P1\n"
    )
    for _ in range(2):
        load_file(store, extra, kind="events", options=_options(tmp_path))
    assert _one(store, "MATCH (:User {userId:'u2'})-[r:VIEWED]->(:Product {sku:'P1'}) RETURN r.count") == 2


def test_create_missing_makes_placeholders(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    load_dataset(store, dataset, options=_options(tmp_path))
    ties = tmp_path / "ties.jsonl"
    ties.write_text(json.dumps({"src_user_id": "u1", "dst_user_id": "u77", "kind": "referred"}) + "\n")
    report = load_file(store, ties, options=_options(tmp_path, create_missing=True))
    assert report.rejected == 0 and report.placeholders == 1
    assert _one(store, "MATCH (:User {userId:'u1'})-[:REFERRED]->(u:User) RETURN u.placeholder") is True


def test_parquet_and_jsonl_load_like_csv(store: GraphStore, dataset: Path, tmp_path: Path) -> None:
    load_file(store, dataset / "channels.csv", options=_options(tmp_path))
    users = tmp_path / "users.parquet"
    pq.write_table(
        pa.table({"user_id": ["p1", "p2"], "birth_year": [1990, None], "acquired_via": ["web", None]}), users
    )
    assert load_file(store, users, options=_options(tmp_path)).loaded == 2
    products = tmp_path / "products.jsonl"
    products.write_text('{"sku": "J1", "price": 5.5}\n\n{"sku": "J2", "price": -1}\nnot json\n')
    report = load_file(store, products, options=_options(tmp_path))
    assert (report.loaded, report.rejected) == (1, 2)
    assert _one(store, "MATCH (u:User {userId:'p1'})-[:ACQUIRED_VIA]->(c) RETURN c.channelId") == "web"


def test_unusable_input_is_refused_whole(store: GraphStore, tmp_path: Path) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text("order_id,user_id,ordered_at\no1,u1,2025-01-01\n")
    with pytest.raises(UnusableInputError, match="missing required column"):
        load_file(store, bad, options=_options(tmp_path))
    with pytest.raises(UnusableInputError, match="unknown format"):
        load_file(store, tmp_path / "users.xlsx", options=_options(tmp_path))
    with pytest.raises(UnusableInputError, match="unknown kind"):
        load_file(store, tmp_path / "orders.csv", kind="invoices", options=_options(tmp_path))
    assert _one(store, "MATCH (n) WHERE NOT n:SchemaMigration RETURN count(n)") == 0

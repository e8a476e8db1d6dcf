"""graph/fingerprint.py: two loads of the same files give one fingerprint, and one changed property, one
changed relationship or one deleted relationship changes exactly the entry it belongs to."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from personagraph.graph.fingerprint import (
    HOUSEKEEPING,
    KEYS,
    Part,
    diff_fingerprints,
    graph_fingerprint,
)
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset

ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA = ROOT / "loaders" / "demo_data"

# Beside the demo shop (users, channels, products, orders, ties): tags, a tag given with its time and two
# without (assignedAt: the load's time), hashed identities, behaviour events and a search.
EXTRA_FILES = {
    "tags.csv": "tag_id,name,tier,parent_id,description\nvalue,Value seeker,preference,,\n"
    "cheap-electronics,Cheap electronics,preference,value,Under 200 CNY\n",
    "user_tags.csv": "user_id,tag_id,weight,source,assigned_at\n"
    "u001,value,0.8,manual,2025-05-01T00:00:00Z\nu002,value,,,\nu003,cheap-electronics,0.5,model,\n",
    "identities.csv": "user_id,kind,value\nu001,email,ann@example.com\nu002,phone,+86 138-0000-1234\n",
    "events.csv": "event_id,user_id,kind,at,target,channel_id\n"
    "e1,u001,view,2025-05-01T23:10:00Z,P100,web\n"
    "e2,u001,view,2025-05-02T23:20:00Z,P100,web\n"
    "e3,u001,search,2025-05-02T23:25:00Z,e-bike helmet,web\n"
    "e4,u002,click,2025-05-03T08:00:00Z,P200,app\n",
}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DEMO_DATA, folder)
    for name, text in EXTRA_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _load(store: GraphStore, folder: Path, tmp_path: Path) -> None:
    options = LoadOptions(rejects_dir=tmp_path / "rejects", context=RowContext(identity_salt="s3cret"))
    reports = load_dataset(store, folder, options=options)
    assert {report.kind for report in reports} >= {"users", "orders", "ties", "user_tags", "events"}
    assert all(report.rejected == 0 and report.loaded > 0 for report in reports), reports


def _changed(a: dict[str, Part], b: dict[str, Part]) -> set[str]:
    return {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}


def test_two_loads_of_the_same_files_give_one_fingerprint(
    store: GraphStore, dataset: Path, tmp_path: Path
) -> None:
    _load(store, dataset, tmp_path)
    first, first_raw = graph_fingerprint(store), graph_fingerprint(store, ignore={})
    store.run_autocommit("server/write/wipe_data")
    assert graph_fingerprint(store) == {}  # the schema ledger the wipe keeps is not data
    _load(store, dataset, tmp_path)
    second, second_raw = graph_fingerprint(store), graph_fingerprint(store, ignore={})

    assert first == second, "\n".join(diff_fingerprints(first, second))
    # It read the graph: every kind of node and relationship the files make, counted.
    assert first["node:User"].count == 6 and first["rel:CONTAINS"].count == 8
    assert {"node:Product", "node:Tag", "node:Identity", "node:SearchTerm", "rel:VIEWED"} <= first.keys()
    assert not {f"node:{label}" for label in HOUSEKEEPING} & first.keys()
    assert "marketingConsent" in first["node:User"].properties
    assert "marketingConsentAt" not in first["node:User"].properties  # LOAD_TIME left it out
    # ... and the default ignore list is needed: without it, exactly the entries holding the load's
    # wall-clock time differ (the consent statements of rows without a consent time, untimed tags).
    assert _changed(first_raw, second_raw) == {
        "node:User",
        "node:ConsentChange",
        "rel:CONSENT_CHANGED",
        "rel:HAS_TAG",
    }, "\n".join(diff_fingerprints(first_raw, second_raw))


CHANGES = {
    "a node's property": (
        "MATCH (u:User {userId: 'u003'}) SET u.city = 'Suzhou'",
        {"node:User"},
    ),
    "a relationship's property": (
        "MATCH (:Order {orderId: 'o1003'})-[line:CONTAINS]->() SET line.quantity = 4",
        {"rel:CONTAINS"},
    ),
    "an integer become a float of the same value": (
        "MATCH (:Order {orderId: 'o1003'})-[line:CONTAINS]->() SET line.quantity = toFloat(line.quantity)",
        {"rel:CONTAINS"},
    ),
    "a number become the string of its digits": (
        "MATCH (:Order {orderId: 'o1003'})-[line:CONTAINS]->() SET line.quantity = toString(line.quantity)",
        {"rel:CONTAINS"},
    ),
    "a time one millisecond later": (
        "MATCH (o:Order {orderId: 'o1001'}) SET o.orderedAt = o.orderedAt + duration({milliseconds: 1})",
        {"node:Order"},
    ),
    "a property added": (
        "MATCH (p:Product {sku: 'P300'}) SET p.organic = true",
        {"node:Product"},
    ),
    "a deleted relationship": (
        "MATCH (:User {userId: 'u004'})-[tie:FOLLOWS]->() DELETE tie",
        {"rel:FOLLOWS"},
    ),
    "a relationship turned round": (
        "MATCH (a:User {userId: 'u001'})-[tie:REFERRED]->(b:User) "
        "CREATE (b)-[back:REFERRED]->(a) SET back = properties(tie) DELETE tie",
        {"rel:REFERRED"},
    ),
    # A ConsentChange has no key: its relationship tells it by its properties, so both entries change.
    "a property of a node without a key": (
        "MATCH (:User {userId: 'u002'})-[:CONSENT_CHANGED]->(c:ConsentChange) SET c.source = 'elsewhere'",
        {"node:ConsentChange", "rel:CONSENT_CHANGED"},
    ),
    "a property holding the load's time": (
        "MATCH (c:ConsentChange) SET c.recordedAt = datetime('2000-01-01T00:00:00Z')",
        set(),
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_one_change_changes_exactly_its_entry(
    store: GraphStore, dataset: Path, tmp_path: Path, change: str
) -> None:
    statement, expected = CHANGES[change]
    _load(store, dataset, tmp_path)
    before = graph_fingerprint(store)
    counts = store.driver.execute_query(statement).summary.counters
    assert counts.properties_set or counts.relationships_deleted, "the change changed nothing"
    after = graph_fingerprint(store)

    assert _changed(before, after) == expected, "\n".join(diff_fingerprints(before, after))
    lines = diff_fingerprints(before, after)
    assert {line.split(": ", 1)[0] for line in lines} == expected and len(lines) == len(expected)
    if change == "a deleted relationship":
        assert lines == [
            f"rel:FOLLOWS: count 2 vs 1; content {before['rel:FOLLOWS'].digest[:12]}… vs "
            f"{after['rel:FOLLOWS'].digest[:12]}…"
        ]
    if change == "a property added":
        assert "properties only in the second: organic" in lines[0]


def test_the_same_content_under_new_internal_ids_has_the_same_fingerprint(
    store: GraphStore, dataset: Path, tmp_path: Path
) -> None:
    _load(store, dataset, tmp_path)
    before = graph_fingerprint(store)
    # Re-create a tie and a keyless node with their relationship: new ids, new places in the store.
    store.driver.execute_query(
        "MATCH (a:User {userId: 'u001'})-[tie:FRIEND_OF]->(b:User {userId: 'u003'}) "
        "CREATE (a)-[again:FRIEND_OF]->(b) SET again = properties(tie) DELETE tie"
    )
    store.driver.execute_query(
        "MATCH (u:User {userId: 'u001'})-[:CONSENT_CHANGED]->(c:ConsentChange) "
        "WITH u, c, properties(c) AS props LIMIT 1 "
        "CREATE (u)-[:CONSENT_CHANGED]->(again:ConsentChange) SET again = props DETACH DELETE c"
    )
    assert graph_fingerprint(store) == before, "\n".join(diff_fingerprints(before, graph_fingerprint(store)))


def test_keys_are_the_uniqueness_constraints_of_the_schema() -> None:
    constraint = re.compile(r"FOR \(\w+:(\w+)\) REQUIRE \(?([\w., ]+?)\)? IS UNIQUE")
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((ROOT / "cypher" / "schema").glob("*.cypher")):
        for label, props in constraint.findall(path.read_text(encoding="utf-8")):
            found[label] = tuple(p.strip().split(".", 1)[1] for p in props.split(","))
    assert found["Identity"] == ("kind", "value")
    assert found == dict(KEYS)


def test_diff_names_each_entry_that_differs() -> None:
    a = {"node:User": Part(2, "aa" * 32, ("city", "userId")), "rel:PLACED": Part(1, "bb" * 32)}
    b = {"node:User": Part(2, "cc" * 32, ("userId",)), "rel:VIA": Part(3, "dd" * 32)}
    assert diff_fingerprints(a, a) == []
    assert diff_fingerprints(a, b) == [
        "node:User: properties only in the first: city; content aaaaaaaaaaaa… vs cccccccccccc…",
        "rel:PLACED: only in the first (1)",
        "rel:VIA: only in the second (3)",
    ]

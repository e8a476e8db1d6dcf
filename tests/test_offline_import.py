"""The offline importer against a real local Neo4j of this module's own: nodes, typed properties and
relationships land, the password and the schema still work, and a bad file fails with the entry named
while Neo4j comes back (empty). One server for the module; each import restarts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from neo4j import Driver

from personagraph.graph.errors import LocalNeo4jError
from personagraph.graph.server.connection import ConnectionInfo, open_driver
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.server.migrations import apply_schema, migrations
from personagraph.graph.server.offline_import import (
    STAGE_LINE,
    ImportInput,
    database_is_empty,
    import_arguments,
    offline_import,
)
from personagraph.graph.store import GraphStore

pytestmark = pytest.mark.neo4j  # it starts its own server: `make test-fast` skips it

USERS_HEADER = "userId:ID(User),name,city,birthYear:long,signedUpAt:datetime,eventHours:long[]\n"
USERS_1 = "u1,Ada,Paris,1990,2024-01-02T03:04:05Z,1;2;3\nu2,Bo,,1985,,\n"
USERS_2 = 'u3,"Cy, Jr.",Lyon,2001,2024-06-30T23:59:59.123Z,0;0;7\n'
PRODUCTS = 'sku:ID(Product),title,price:double\np1,"Mug\nwith a line break",9.5\n'
FRIENDS_HEADER = ":START_ID(User),:END_ID(User),since:datetime\n"
FRIENDS = FRIENDS_HEADER + "u1,u2,2023-12-31T20:26:10Z\nu2,u3,2024-02-01T00:00:00Z\n"
FRIENDS_MISSING = FRIENDS_HEADER + "u1,u9,2023-12-31T20:26:10Z\n"


@pytest.fixture
def server(offline_server: LocalNeo4j) -> LocalNeo4j:
    return offline_server


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """The importer's files, in a folder and with names a regex would misread (quoted by the module)."""
    folder = tmp_path / "import files (v1)"
    folder.mkdir()
    for name, text in {
        "users.header.csv": USERS_HEADER,
        "users+1.csv": USERS_1,
        "users[2].csv": USERS_2,
        "products.csv": PRODUCTS,
        "friends.csv": FRIENDS,
        "friends-missing.csv": FRIENDS_MISSING,
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def connect(local: LocalNeo4j) -> Driver:
    """A driver with the launcher's password (the import must leave the system database alone)."""
    info = ConnectionInfo.of_local(local)
    return open_driver(info, wait_s=30)


def test_an_import_replaces_the_database_with_typed_nodes_and_relationships(
    server: LocalNeo4j, files: Path
) -> None:
    with connect(server) as driver:
        store = GraphStore(driver, "neo4j")
        driver.execute_query("CREATE (:User {userId: 'stale'})", database_="neo4j")
        assert not database_is_empty(store)

    lines: list[str] = []
    result = offline_import(
        server,
        ImportInput(
            nodes=[
                ("User", [files / "users.header.csv", files / "users+1.csv", files / "users[2].csv"]),
                ("Product:Imported", [files / "products.csv"]),
            ],
            relationships=[("FRIEND_OF", [files / "friends.csv"])],
            multiline_fields=True,
        ),
        progress=lines.append,
    )

    assert (result.nodes, result.relationships) == (4, 2)
    assert result.properties == 6 + 3 + 6 + 3 + 2  # ids count; u2's empty fields are no properties
    assert result.seconds > 0 and result.report_file.exists()
    stages = [line for line in lines if STAGE_LINE.search(line)]
    assert stages[0].startswith("Nodes, started ") and stages[-1].startswith("IMPORT DONE"), lines
    assert server.status().running
    with connect(server) as driver:  # the password still works
        store = GraphStore(driver, "neo4j")
        users, _, _ = driver.execute_query(
            "MATCH (u:User) RETURN u.userId AS id, u.name AS name, u.city AS city, u.birthYear AS born, "
            "valueType(u.signedUpAt) AS atType, toString(u.signedUpAt) AS at, "
            "valueType(u.eventHours) AS hoursType, u.eventHours AS hours ORDER BY id",
            database_="neo4j",
        )
        assert [r.data() for r in users] == [
            {
                "id": "u1",
                "name": "Ada",
                "city": "Paris",
                "born": 1990,
                "atType": "ZONED DATETIME NOT NULL",
                "at": "2024-01-02T03:04:05Z",
                "hoursType": "LIST<INTEGER NOT NULL> NOT NULL",
                "hours": [1, 2, 3],
            },
            {
                "id": "u2",
                "name": "Bo",
                "city": None,
                "born": 1985,
                "atType": "NULL",
                "at": None,
                "hoursType": "NULL",
                "hours": None,
            },
            {
                "id": "u3",
                "name": "Cy, Jr.",
                "city": "Lyon",
                "born": 2001,
                "atType": "ZONED DATETIME NOT NULL",
                "at": "2024-06-30T23:59:59.123Z",
                "hoursType": "LIST<INTEGER NOT NULL> NOT NULL",
                "hours": [0, 0, 7],
            },
        ]
        products, _, _ = driver.execute_query(
            "MATCH (p:Product) RETURN labels(p) AS labels, p.title AS title, p.price AS price",
            database_="neo4j",
        )
        assert [r.data() for r in products] == [
            {"labels": ["Product", "Imported"], "title": "Mug\nwith a line break", "price": 9.5}
        ]
        friends, _, _ = driver.execute_query(
            "MATCH (a:User)-[r:FRIEND_OF]->(b:User) "
            "RETURN a.userId AS a, b.userId AS b, valueType(r.since) AS sinceType ORDER BY a",
            database_="neo4j",
        )
        assert [r.data() for r in friends] == [
            {"a": "u1", "b": "u2", "sinceType": "ZONED DATETIME NOT NULL"},
            {"a": "u2", "b": "u3", "sinceType": "ZONED DATETIME NOT NULL"},
        ]
        assert not database_is_empty(store)
        # The import replaced the schema ledger with everything else: every migration applies again.
        report = apply_schema(store)
        assert [m.version for m in report.applied] == [m.version for m in migrations()]
        assert not apply_schema(store).applied


def test_a_relationship_to_a_missing_node_fails_naming_it_and_neo4j_comes_back_empty(
    server: LocalNeo4j, files: Path
) -> None:
    data = ImportInput(
        nodes=[("User", [files / "users.header.csv", files / "users+1.csv"])],
        relationships=[("FRIEND_OF", [files / "friends-missing.csv"])],
    )
    with pytest.raises(LocalNeo4jError) as failed:
        offline_import(server, data)

    message = str(failed.value)
    assert "referring to missing node u9" in message.splitlines()[0], message
    assert "partly written" in message and "starts it empty" in message, message
    assert "Neo4j did not start again" not in message, message
    assert server.status().running
    with connect(server) as driver:
        assert database_is_empty(GraphStore(driver, "neo4j"))


def test_bad_input_is_refused_before_neo4j_is_stopped(tmp_path: Path) -> None:
    local = LocalNeo4j(version="0", cache_dir=tmp_path / "cache", data_dir=tmp_path / "data", port=1)
    header = tmp_path / "users.csv"
    header.write_text(USERS_HEADER, encoding="utf-8")
    cases = {
        "is not a file": ImportInput([("User", [tmp_path / "absent.csv"])], []),
        "is not a label": ImportInput([("User=Admin", [header])], []),
        "is not a relationship type": ImportInput([("User", [header])], [("A:B", [header])]),
        "no node files": ImportInput([], [("FRIEND_OF", [header])]),
        "is not a database name": ImportInput([("User", [header])], []),
    }
    for expected, data in cases.items():
        database = "../system" if expected == "is not a database name" else "neo4j"
        with pytest.raises(LocalNeo4jError, match=expected):
            offline_import(local, data, database=database)
    comma = tmp_path / "a,b.csv"
    comma.write_text(USERS_HEADER, encoding="utf-8")
    with pytest.raises(LocalNeo4jError, match="rename it"):
        offline_import(local, ImportInput([("User", [comma])], []))
    assert not (tmp_path / "cache").exists()  # nothing was resolved, nothing stopped


def test_import_arguments_quote_file_names_and_end_with_a_one_value_option(tmp_path: Path) -> None:
    folder = tmp_path / "in (1)"
    folder.mkdir()
    (folder / "users+1.csv").write_text(USERS_HEADER, encoding="utf-8")
    arguments = import_arguments(ImportInput([("User:Customer", [folder / "users+1.csv"])], []))
    assert arguments[0] == f"--nodes=User:Customer={folder.resolve()}/users\\+1\\.csv"
    assert "--array-delimiter=;" in arguments and "--strict=true" in arguments
    assert arguments[-1] == "--bad-tolerance=0"  # `... <these> neo4j` keeps neo4j the database

"""Initial loads through the offline importer (loaders/bulk/): the same rows, rejects and graph as the
transactional loader."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from personagraph.graph.entities import KINDS
from personagraph.graph.fingerprint import ALWAYS_LOAD_TIME, diff_fingerprints, graph_fingerprint
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo, open_driver
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.store import GraphStore
from personagraph.loaders.bulk.frames import LINE, read_file
from personagraph.loaders.bulk.initial import initial_load
from personagraph.loaders.bulk.validate import PLAIN, validate
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import LoadOptions, load_dataset

FIXED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CTX = RowContext(identity_salt="test-salt", consent_at=FIXED)

# Values near the edges of each plain form: the frame path must agree with the record models on all.
TRICKY = {
    "users": [
        "user_id,gender,birth_year,city,marketing_consent,personalization_opt_out,acquired_via,acquired_at,consent_updated_at",
        "u1,Male,1990,Beijing,true,false,web,2024-01-02T03:04:05Z,2024-02-01",
        "u2, female ,1899,北京,TRUE,0,,2024-01-02T03:04:05+00:00,",
        "u3,,2101, Shanghai,yes,n,=cmd,2024-02-30T00:00:00Z,2024-01-02T03:04:05",
        " u4,x,abcd,city,maybe,,web,9999-01-01T00:00:00Z,0999-12-31",
        "-u5,f,2000,c,false,true,web,1700000000,2024-01-02T03:04:05.123Z",
        "u6,İstanbul,2000,c,1,Y,web,2024-01-02T24:00:00Z,2024-01-02T03:04:05+08:00",
        "u7,m,01990,c,t,F,web,2024-1-2,",
    ],
    "orders": [
        "order_id,user_id,sku,ordered_at,quantity,unit_price,channel_id,line_id",
        "o1,u1,p1,2024-01-02T03:04:05Z,2,10.50,web,",
        "o1,u1,p2,2024-01-02T03:04:05,,010.5,,l9",
        "o2,u2,p1,2024-01-02,0,1000000000.01,web,",
        "o3,u3,p3,,1,1,web,",
        "o4,u3,p3,2024-01-02T03:04:05Z,1000001,10,web,",
        "o5,u3,p3,2024-01-02T03:04:05Z,3,0.1,@x,",
        "o6,u3,p3,2024-01-02T03:04:05Z,1.5,1e3,web,",
    ],
    "ties": [
        "src_user_id,dst_user_id,kind,since",
        "u2,u1,friend,2024-01-02T03:04:05Z",
        "u1,u2,Friend,",
        "u1,u1,follows,",
        "u1,u3,referred,not-a-date",
        "u3,u1,follows, 2024-01-02",
        "u3,u1,likes,",
    ],
    "identities": [
        "user_id,kind,value",
        "u1,email,Ann@Example.com",
        "u1,phone,+86 138-0000-0000",
        "u2,Email, ann@example.com",
        "u2,phone,no digits",
        "u3,wechat,wxid_00977d7c4c",
        "u3,we chat,x",
        "u3,1phone,123",
        "u4,email," + "a" * 201,
        "=u5,email,a@b.c",
    ],
    "user_tags": [
        "user_id,tag_id,weight,source,assigned_at,expires_at",
        "u1,t1,0.5,rule,2024-01-02T03:04:05Z,",
        "u1,t2,,,,2030-01-01",
        "u2,t1,1.0000001,manual,,",
        "u2,t2,.5,MODEL,,",
        "u3,t1,1.000000,bogus,,",
    ],
    "events": [
        "event_id,user_id,kind,at,target,channel_id",
        "e1,u1,view,2024-01-02T03:04:05Z,p1,web",
        ",u1,click,2024-01-02T03:04:05,p1,",
        ",u1,search,2024-01-02T03:04:05Z,  Red   Shoes ,web",
        "e7,u2,search,2024-01-02T03:04:05Z,Red  shoes,web",
        "e8,u2,search,2024-01-02T03:04:05Z,   ,web",
        "e9,u2,search,2024-01-02T03:04:05Z,=sum(a1),web",
        "e10,u2,search,2024-01-02T03:04:05Z,Crème brûlée,web",
        "e4,u1,View,2024-01-02T03:04:05Z,p1,web",
        "e5,u1,view,2024-01-02T03:04:05Z,-p1,web",
        "e6,u1,share,,p1,web",
    ],
}


@pytest.mark.parametrize("kind", sorted(TRICKY))
def test_plain_rows_are_validated_as_the_record_models_validate_them(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_text("\n".join(TRICKY[kind]) + "\n", encoding="utf-8")
    whole = read_file(path)
    assert whole.frame is not None, "a plain CSV file is read whole"
    by_columns = validate(whole, KINDS[kind], CTX)
    by_rows = read_file(path)
    by_rows.rows, by_rows.frame = list(_rows(by_rows.frame)), None  # every row through its record model
    by_model = validate(by_rows, KINDS[kind], CTX)
    assert by_columns.rows.to_dicts() == by_model.rows.to_dicts()
    assert _reasons(by_columns) == _reasons(by_model)
    plain, _ = PLAIN[kind](CTX)
    full = whole.frame.with_columns(
        pl.lit("").alias(c) for c in KINDS[kind].columns if c not in whole.frame.columns
    )
    assert 0 < full.select(plain.sum()).item() < full.height, "some rows take each path"


def test_a_quoted_file_is_read_row_by_row_with_the_same_result(tmp_path: Path) -> None:
    plain = tmp_path / "plain" / "users.csv"
    quoted = tmp_path / "quoted" / "users.csv"
    for path in (plain, quoted):
        path.parent.mkdir()
    plain.write_text("\n".join(TRICKY["users"]) + "\n", encoding="utf-8")
    with quoted.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, quoting=csv.QUOTE_ALL).writerows(csv.reader(plain.open(encoding="utf-8")))
    assert read_file(quoted).frame is None
    a, b = (validate(read_file(p), KINDS["users"], CTX) for p in (plain, quoted))
    assert a.rows.to_dicts() == b.rows.to_dicts() and _reasons(a) == _reasons(b)


def test_malformed_lines_keep_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "ties.csv"
    path.write_text(
        "src_user_id,dst_user_id,kind,since\r\nu1,u2,friend,\r\n\r\nu1,u3\r\nu2,u3,follows,,x\r\nu3,u4,friend,\r\n"
    )
    found = read_file(path)
    assert found.frame is not None and found.frame.get_column(LINE).to_list() == [2, 6]
    assert [(line, reason) for line, reason, _ in found.malformed] == [
        (4, "malformed row: 2 values for 4 columns"),
        (5, "malformed row: 5 values for 4 columns"),
    ]


def _rows(frame: pl.DataFrame | None) -> Iterator[tuple[int, dict[str, object]]]:
    assert frame is not None
    for row in frame.iter_rows(named=True):
        yield row.pop(LINE), row


def _reasons(validated: object) -> list[tuple[int, str, str]]:
    return sorted((r.line, r.column, r.reason) for r in validated.rejects)  # type: ignore[attr-defined]


# -- the graph, against the transactional loader ----------------------------------------------------------


def _dataset(folder: Path) -> Path:
    """A generated shop with bad rows, plus the cases whose merge semantics are easiest to get wrong."""
    generate(folder, users=400, seed=11, bad_row_share=0.02)
    _append(
        folder / "users.csv",
        [
            "u0000001,female,1980,nurse,,,Hangzhou,,CN,false,true,app,",  # again: replayed after the import
            "u0000002,,,,,,,,,,,,",
        ],
    )
    _append(folder / "products.csv", [])
    _append(
        folder / "ties.csv", ["u0000003,u0000002,friend,2020-01-01T00:00:00Z", "u0000002,u0000003,friend,"]
    )
    _fill_blank(folder / "user_tags.csv", "assigned_at", "2025-01-01T00:00:00Z")  # else the load's time
    return folder


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")


def _fill_blank(path: Path, column: str, value: str) -> None:
    _rewrite(
        path, lambda _, row: {**row, column: row[column] or value} if row.get(column) is not None else row
    )


def _rewrite(
    path: Path, change: Callable[[int, dict[str, str]], dict[str, str]], extra: Sequence[str] = ()
) -> None:
    """``path`` with each row replaced by ``change(row number, row)``, then ``extra`` lines appended."""
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(change(i, dict(row)) for i, row in enumerate(rows))
        out.writelines(line + "\n" for line in extra)


@contextmanager
def _store_of(local: LocalNeo4j) -> Iterator[GraphStore]:
    info = ConnectionInfo.of_local(local)
    driver = open_driver(info, wait_s=60)
    try:
        yield GraphStore(driver, "neo4j")
    finally:
        driver.close()


def _rejected(folder: Path) -> set[tuple[str, int, str, str]]:
    found = set()
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            found.add((path.name, entry["line"], entry.get("column"), entry["reason"]))
    return found


@pytest.mark.neo4j
def test_an_initial_load_builds_the_graph_the_transactional_loader_builds(
    store: GraphStore, offline_server: LocalNeo4j, tmp_path: Path
) -> None:
    data = _dataset(tmp_path / "data")
    options = LoadOptions(rejects_dir=tmp_path / "tx-rejects", context=CTX)
    expected_reports = load_dataset(store, data, options=options)
    expected = graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)  # the files give every time
    local = offline_server
    bulk = dataclasses.replace(options, rejects_dir=tmp_path / "bulk-rejects")
    done = initial_load(local, lambda: _store_of(local), data, bulk)
    with _store_of(local) as imported:
        got = graph_fingerprint(imported, ignore=ALWAYS_LOAD_TIME)
        migrations = imported.read("server/read/list_migrations")
    assert diff_fingerprints(expected, got) == []
    assert done.replayed >= 1 and done.imported is not None
    assert len(migrations) == len(store.read("server/read/list_migrations")), "the schema is in place"
    counts = [(r.path.name, r.read, r.loaded, r.rejected, r.duplicates) for r in expected_reports]
    assert [(r.path.name, r.read, r.loaded, r.rejected, r.duplicates) for r in done.reports] == counts
    assert _rejected(tmp_path / "bulk-rejects") == _rejected(tmp_path / "tx-rejects")
    assert sum(r.rejected for r in done.reports) > 0, "the dataset holds bad rows"


@pytest.mark.neo4j
def test_a_user_twice_in_one_batch_loads_as_row_by_row(store: GraphStore, tmp_path: Path) -> None:
    """Cypher applies a statement clause by clause over all its rows: a user twice in one call kept the
    first channel beside the second and recorded consent against the state before both (issue 20)."""
    (tmp_path / "channels.csv").write_text("channel_id,name,kind\nweb,Web,online\napp,App,online\n")
    (tmp_path / "users.csv").write_text(
        "user_id,marketing_consent,acquired_via\nu1,true,web\nu2,true,web\nu1,false,app\n"
    )
    load_dataset(store, tmp_path, options=LoadOptions(rejects_dir=tmp_path / "rejects", context=CTX))
    rows, _, _ = store.driver.execute_query(
        "MATCH (u:User {userId: 'u1'}) RETURN u.marketingConsent AS consent, "
        "[(u)-[:ACQUIRED_VIA]->(c) | c.channelId] AS channels, "
        "[(u)-[:CONSENT_CHANGED]->(h) | h.granted] AS history",
        database_=store.database,
    )
    assert rows[0]["consent"] is False
    assert rows[0]["channels"] == ["app"]
    assert sorted(rows[0]["history"]) == [False, True]


# -- the command ----------------------------------------------------------------------------------------


def _persona(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "personagraph.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def test_import_files_are_written_with_the_command_to_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, users=60, seed=3, bad_row_share=0.05)
    _append(data / "users.csv", ["u0000001,female,1980,nurse,,,Hangzhou,,CN,false,true,,"])
    out = tmp_path / "out"
    env = {"PERSONA_DATA_DIR": str(tmp_path / "home"), "NEO4J_URI": "bolt://127.0.0.1:1"}
    done = _persona("load", str(data), "--import-files", str(out), env=env)
    assert done.returncode == 3, done.stderr  # rows were rejected, and the files written all the same
    assert "neo4j-admin database import full --overwrite-destination" in (done.stdout + done.stderr)
    said = done.stdout + done.stderr
    assert "--nodes=User=" in said and "nodes\\-User\\.csv" in said and " -- neo4j" in said
    assert "--id-type=integer" in said
    header = (out / "nodes-User.csv").read_text(encoding="utf-8").splitlines()[0]
    assert (
        header.startswith(":ID(User),") and ",userId," in header and "marketingConsentAt:datetime" in header
    )
    replay = (out / "then" / "users.csv").read_text(encoding="utf-8").splitlines()
    assert len(replay) == 2 and replay[1].startswith("u0000001,female,1980,nurse,")
    assert f"persona load {out / 'then'} --via transactions" in (done.stdout + done.stderr)


@pytest.mark.neo4j
def test_the_importer_asked_for_a_server_it_cannot_stop_says_so_and_loads_by_transactions(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    generate(data, users=40, seed=5, bad_row_share=0.0)
    done = _persona(
        "load", str(data), "--via", "import", env={**neo4j_env, "PERSONA_DATA_DIR": str(tmp_path)}
    )
    assert done.returncode == 0, done.stderr
    assert "the offline importer needs a Neo4j this command can stop" in (done.stdout + done.stderr)
    assert store.read("server/read/count_data")[0]["nodes"] > 40


@pytest.mark.neo4j
def test_a_forgotten_user_keeps_the_importer_away_and_their_rows_out(
    store: GraphStore, tmp_path: Path
) -> None:
    """The importer path checks no suppression list (it replaces the database whole): a database whose
    only content is the list of forgotten users is not empty, so a load there goes through transactions,
    which refuse the forgotten user's rows."""
    from personagraph.graph.privacy.forget import forget_user
    from personagraph.graph.server.offline_import import database_is_empty

    key = b"k" * 32
    (tmp_path / "users.csv").write_text("user_id,city\nu-gone,Paris\n")
    load_dataset(store, tmp_path, options=LoadOptions(rejects_dir=tmp_path / "r0", context=CTX))
    forget_user(store, user_id="u-gone", key=key, actor="dpo")
    store.run_autocommit("server/write/wipe", suppression=False)  # as `persona wipe`: the list stays
    assert not database_is_empty(store)
    options = LoadOptions(rejects_dir=tmp_path / "r1", context=CTX, suppression_key=key)
    (report,) = load_dataset(store, tmp_path, options=options)
    assert report.loaded == 0 and report.rejected == 1

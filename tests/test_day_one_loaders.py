"""Issue 15, items 4 to 7: what a new user's own files and money meet on day one, against the real Neo4j
and through the CLI as a user runs it."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from personagraph.graph.privacy.forget import REFUSED, forget_user
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset, load_file

ROOT = Path(__file__).resolve().parent.parent
KEY = b"d" * 32

CHANNELS = "channel_id,name,kind\nweb,Web,online\n"
PRODUCTS = "sku,name,price\nP1,Bike,259\nP2,Helmet,99\n"


def _options(tmp_path: Path, **more: Any) -> LoadOptions:
    base: dict[str, Any] = {
        "batch_size": 50,
        "rejects_dir": tmp_path / "rejects",
        "context": RowContext(identity_salt="t"),
        "suppression_key": KEY,
    }
    return LoadOptions(**{**base, **more})


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(query, params)
    return [r.data() for r in records]


def _rejects(report: FileReport) -> list[dict[str, Any]]:
    assert report.rejects_file is not None
    return [json.loads(x) for x in report.rejects_file.read_text(encoding="utf-8").splitlines()]


def _persona(*args: str, env: dict[str, str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`persona ARGS` with stdout and stderr to pipes, pointed at the test Neo4j."""
    full = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TERM")}
    return subprocess.run(
        [sys.executable, "-m", "personagraph.cli.main", *args],
        capture_output=True,
        text=True,
        env={**full, **env, "PERSONA_DATA_DIR": str(data_dir), "COLUMNS": "200"},
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


# Item 5: several files per kind, compressed files, and a word about each file not loaded.


def test_a_folder_loads_every_file_of_a_kind_compressed_too_and_names_each_file_it_skips(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """Before: users_2024.csv, orders.csv.gz (and the .bz2 one) were ignored, users.txt too, exit 0 and not
    a word: 2 users and no orders in the graph."""
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "channels.csv").write_text(CHANNELS, encoding="utf-8")
    (folder / "products.csv").write_text(PRODUCTS, encoding="utf-8")
    (folder / "users.csv").write_text("user_id,city\nu1,Shanghai\nu2,Beijing\n", encoding="utf-8")
    (folder / "users_2024.csv").write_text("user_id,city\nu3,Chengdu\n", encoding="utf-8")
    (folder / "users-eu.jsonl.gz").write_bytes(gzip.compress(b'{"user_id": "u4", "city": "Berlin"}\n'))
    (folder / "users.txt").write_text("user_id\nu5\n", encoding="utf-8")
    (folder / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    header = "order_id,user_id,sku,ordered_at,quantity,unit_price\n"
    (folder / "orders.csv.gz").write_bytes(
        gzip.compress((header + "o1,u1,P1,2025-01-01,1,259\no2,u3,P2,2025-01-02,2,99\n").encode())
    )
    (folder / "orders_2.csv.bz2").write_bytes(bz2.compress((header + "o3,u4,P2,2025-01-03,1,99\n").encode()))

    done = _persona("load", str(folder), env=neo4j_env, data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    users = _rows(store, "MATCH (u:User) RETURN u.userId AS id ORDER BY id")
    assert [u["id"] for u in users] == ["u1", "u2", "u3", "u4"]
    orders = _rows(store, "MATCH (:User)-[:PLACED]->(o:Order) RETURN o.orderId AS id ORDER BY id")
    assert [o["id"] for o in orders] == ["o1", "o2", "o3"]
    said = " ".join((done.stderr + done.stdout).split())
    assert "users.txt: not loaded: unknown format" in said
    assert "notes.csv: not loaded: no kind in its name" in said
    for name in ("users_2024.csv", "users-eu.jsonl.gz", "orders.csv.gz", "orders_2.csv.bz2"):
        assert name in said  # in the report table


def test_one_file_with_a_suffixed_name_loads_as_its_kind(store: GraphStore, tmp_path: Path) -> None:
    """Before: `persona load users_2024.csv` said unknown kind 'users_2024'."""
    path = tmp_path / "users_2024.csv.gz"
    path.write_bytes(gzip.compress(b"user_id,city\nu1,Shanghai\n"))
    report = load_file(store, path, options=_options(tmp_path))
    assert (report.kind, report.loaded, report.rejected) == ("users", 1, 0)


# Item 6: GBK exports.


GBK_CITIES = ["上海", "北京", "成都", "杭州", "深圳", "广州市天河区"]


def _gbk_users(ascii_rows: int) -> bytes:
    """A users file whose first ``ascii_rows`` rows are ASCII, then Chinese text in GBK."""
    text = "user_id,city,occupation\n" + "".join(f"a{i},Shanghai,engineer\n" for i in range(ascii_rows))
    text += "".join(f"c{i},{city},工程师\n" for i, city in enumerate(GBK_CITIES))
    return text.encode("gbk")


def test_a_gbk_csv_whose_chinese_comes_late_loads_every_row_as_gb18030(
    store: GraphStore, tmp_path: Path
) -> None:
    """Before: the header and first 3,000 rows read as UTF-8, then each GBK row was rejected ("not UTF-8
    text"): 6 rows lost, exit 3."""
    path = tmp_path / "users.csv"
    path.write_bytes(_gbk_users(3_000))
    report = load_file(store, path, options=_options(tmp_path))
    assert (report.loaded, report.rejected) == (3_006, 0)
    assert report.encoding is not None and report.encoding.startswith("gb18030")
    query = "MATCH (u:User) WHERE u.userId STARTS WITH 'c' RETURN u.city AS c ORDER BY u.userId"
    cities = _rows(store, query)
    assert [c["c"] for c in cities] == GBK_CITIES


def test_a_gbk_jsonl_file_is_read_not_refused_whole(store: GraphStore, tmp_path: Path) -> None:
    """Before: its first line is not UTF-8, so the whole file was unusable (exit 2)."""
    path = tmp_path / "users.jsonl"
    rows = [{"user_id": f"u{i}", "city": city} for i, city in enumerate(GBK_CITIES)]
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    report = load_file(store, path, options=_options(tmp_path))
    assert (report.loaded, report.rejected) == (len(GBK_CITIES), 0)
    cities = _rows(store, "MATCH (u:User) RETURN u.city AS c ORDER BY u.userId")
    assert [c["c"] for c in cities] == GBK_CITIES


def test_the_cli_reports_the_encoding_and_an_explicit_one_overrides_detection(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """Before: no --encoding option (exit 2, "No such option") and the GBK rows rejected."""
    path = tmp_path / "users.csv"
    path.write_bytes(_gbk_users(20))
    data = tmp_path / "data"
    done = _persona("load", str(path), env=neo4j_env, data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "users.csv: read as gb18030" in " ".join(done.stderr.split())
    assert _rows(store, "MATCH (u:User {userId: 'c0'}) RETURN u.city AS c")[0]["c"] == "上海"

    done = _persona("load", str(path), "--encoding", "latin-1", env=neo4j_env, data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "users.csv: read as iso8859-1 (given)" in " ".join(done.stderr.split())
    assert _rows(store, "MATCH (u:User {userId: 'c0'}) RETURN u.city AS c")[0]["c"] == "上海".encode(
        "gbk"
    ).decode("latin-1")


def test_utf8_with_one_bad_row_stays_utf8_and_rejects_that_row(store: GraphStore, tmp_path: Path) -> None:
    """Detection does not turn a UTF-8 file into mojibake for one broken row."""
    path = tmp_path / "users.csv"
    path.write_bytes("user_id,city\nu1,上海\nu2,北京\n".encode() + b"u3,\xff\xfe\x80\n")
    report = load_file(store, path, options=_options(tmp_path))
    assert (report.loaded, report.rejected, report.encoding) == (2, 1, "utf-8 (utf-8)")
    assert _rows(store, "MATCH (u:User {userId: 'u1'}) RETURN u.city AS c")[0]["c"] == "上海"


# Item 7: JSONL rejects keep the raw line and the whole message; a forgotten user's line keeps nothing.


def test_jsonl_rejects_keep_the_raw_line_and_the_whole_message(store: GraphStore, tmp_path: Path) -> None:
    """Before: the entry held {"__shape__": "not JSON: Expecting ',' delimiter"}: no line, no position."""
    path = tmp_path / "users.jsonl"
    broken = '{"user_id": "u2" "city": "Beijing"}'
    array = '["u3", "Chengdu"]'
    path.write_text(f'{{"user_id": "u1", "city": "Shanghai"}}\n{broken}\n{array}\n', encoding="utf-8")
    report = load_file(store, path, options=_options(tmp_path))
    assert (report.loaded, report.rejected) == (1, 2)
    entries = {e["line"]: e for e in _rejects(report)}
    assert entries[2]["raw"] == broken
    message = "malformed row: not JSON: Expecting ',' delimiter: line 1 column 18 (char 17)"
    assert entries[2]["reason"] == message
    assert entries[3]["raw"] == array and entries[3]["reason"] == "malformed row: not a JSON object"


def test_a_forgotten_users_broken_jsonl_line_keeps_nothing(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("user_id,city\nu-gone,Shanghai\nu-kept,Beijing\n", encoding="utf-8")
    load_file(store, tmp_path / "users.csv", options=_options(tmp_path))
    forget_user(store, user_id="u-gone", key=KEY, actor="dpo", identity_key="t")
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"user_id": "u-kept", "kind": "search", "at": "2025-01-01", "target": "bikes"}\n'
        '{"user_id": "u-gone" "kind": "view"}\n'
        '{"user_id": "u-kept" "kind": "view"}\n',
        encoding="utf-8",
    )
    report = load_file(store, path, options=_options(tmp_path))
    entries = {e["line"]: e for e in _rejects(report)}
    assert entries[2] == {
        "file": "events.jsonl",
        "line": 2,
        "field": "row",
        "value": None,
        "reason": REFUSED,
        "row": None,
    }
    assert "u-gone" not in report.rejects_file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert entries[3]["raw"] == '{"user_id": "u-kept" "kind": "view"}'


def test_several_files_of_a_kind_keep_their_own_rejects(store: GraphStore, tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "users.csv").write_text("user_id,birth_year\nu1,1700\n", encoding="utf-8")
    (folder / "users.jsonl").write_text('{"user_id": "u2", "birth_year": 1600}\nnot json\n', encoding="utf-8")
    reports = load_dataset(store, folder, options=_options(tmp_path))
    assert [(r.path.name, r.rejected) for r in reports] == [("users.csv", 1), ("users.jsonl", 2)]
    names = {r.rejects_file.name for r in reports if r.rejects_file}
    assert names == {"users.csv.jsonl", "users.jsonl.jsonl"}
    assert _rejects(reports[1])[1]["raw"] == "not json"


# Item 4: money. A line without a unit price sells at the list price; sums are exact to the cent.


def _shop(store: GraphStore, tmp_path: Path, orders: str = "") -> None:
    folder = tmp_path / "money"
    folder.mkdir()
    (folder / "channels.csv").write_text(CHANNELS, encoding="utf-8")
    (folder / "products.csv").write_text(PRODUCTS + "P3,Bell,0.125\n", encoding="utf-8")
    (folder / "users.csv").write_text(
        "user_id,acquired_via,acquired_at\nbuyer,web,2024-01-01\ncents,web,2024-01-01\n", encoding="utf-8"
    )
    if orders:
        (folder / "orders.csv").write_text(
            "order_id,user_id,sku,ordered_at,quantity,unit_price,line_id\n" + orders, encoding="utf-8"
        )
    reports = load_dataset(store, folder, options=_options(tmp_path))
    assert not any(r.rejected for r in reports)


def test_an_order_line_without_a_price_counts_at_list_price_in_the_orders_total(
    store: GraphStore, neo4j_connection: Any, tmp_path: Path
) -> None:
    """Before: Order.total was 198 (the list-price line counted 0) while attribution counted 457."""
    from personagraph.graph.analytics.attribution import run_attribution
    from tests.api_support import GraphQL, secured

    _shop(store, tmp_path)
    order = """mutation($o: OrderInput!) { recordOrder(input: $o) {
        user { orders(first: 5) { edges { node { orderId total lines { sku quantity unitPrice } } } } } } }"""
    lines = [{"sku": "P1"}, {"sku": "P2", "quantity": 2, "unitPrice": 99}]
    with secured(tmp_path / "api").client(neo4j_connection) as client:
        placed = GraphQL(client).data(
            order, {"o": {"orderId": "o1", "userId": "buyer", "orderedAt": "2025-01-01", "lines": lines}}
        )["recordOrder"]
    node = placed["user"]["orders"]["edges"][0]["node"]
    assert node["total"] == 457
    assert {(x["sku"], x["unitPrice"]) for x in node["lines"]} == {("P1", None), ("P2", 99)}
    web = next(c for c in run_attribution(store).channels if c.channel_id == "web")
    assert web.revenue == 457


def test_money_sums_are_exact_to_the_cent_everywhere(store: GraphStore, tmp_path: Path) -> None:
    """Before: 0.1 + 0.2 came back as 0.30000000000000004 from the profile's order total, attribution (its
    per-channel and report sums) and the high-value tag rule's spend; a list price of 0.125 was kept as is."""
    from datetime import UTC, datetime

    from personagraph.graph.analytics.attribution import run_attribution
    from personagraph.graph.profiles.read import orders_pages

    _shop(store, tmp_path, "o1,cents,P3,2025-01-01,1,0.1,l1\no1,cents,P3,2025-01-01,1,0.2,l2\n")
    assert _rows(store, "MATCH (p:Product {sku: 'P3'}) RETURN p.price AS p")[0]["p"] == 0.13
    report = run_attribution(store)
    web = next(c for c in report.channels if c.channel_id == "web")
    assert (web.revenue, web.last_touch_revenue, report.total_revenue) == (0.3, 0.0, 0.3)
    assert repr(report.total_revenue) == "0.3"
    stored = _rows(store, "MATCH (c:Channel {channelId: 'web'}) RETURN c.revenue AS r")[0]["r"]
    assert stored == 0.3
    page = orders_pages(store, user_ids=["cents"], first=5)["cents"]
    assert str(page.items[0].total) == "0.30"
    [row] = store.read(
        "tags/rules/high_value",
        userIds=["cents"],
        since=datetime(2024, 1, 1, tzinfo=UTC),
        asOf=datetime(2026, 1, 1, tzinfo=UTC),
        minAmount=0.3,
        maxEvidence=3,
    )
    assert row["spend"] == 0.3 and row["top"] == [{"order": "o1", "amount": 0.3}]
    [cutoff] = store.read(
        "tags/rules/high_value_cutoff",
        since=datetime(2024, 1, 1, tzinfo=UTC),
        asOf=datetime(2026, 1, 1, tzinfo=UTC),
        percentile=0.95,
    )
    assert cutoff["cutoff"] == 0.3

"""Transactional loads of plain CSV files read whole as columns (loaders/bulk/validate.py, checked against
the graph at once): the same graph, reports and rejects as the row-by-row path, and a forgotten user's
rows kept out just as well."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from personagraph.graph.fingerprint import ALWAYS_LOAD_TIME, diff_fingerprints, graph_fingerprint
from personagraph.graph.privacy.forget import REFUSED, forget_user
from personagraph.graph.store import GraphStore
from personagraph.loaders import pipeline
from personagraph.loaders.bulk import unchanged as unchanged_rows
from personagraph.loaders.pipeline import FileReport, LoadOptions, Tally, load_dataset, load_file
from tests.test_bulk_load import CTX, _dataset, _rejected, _rewrite

pytestmark = pytest.mark.neo4j
KEY = b"k" * 32


def _counts(reports: list[FileReport]) -> list[tuple[str, int, int, int, int, int]]:
    return [
        (r.kind, r.read, r.loaded, r.rejected, r.duplicates, r.placeholders)
        for r in sorted(reports, key=lambda r: r.kind)
    ]


def _whole_file_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the loader reads whole, as it reads them."""
    seen: list[str] = []
    real = pipeline.read_plain_csv

    def spy(path: Path, encoding: str | None = None):  # type: ignore[no-untyped-def]
        found = real(path, encoding)
        if found is not None:
            seen.append(path.name)
        return found

    monkeypatch.setattr(pipeline, "read_plain_csv", spy)
    return seen


def test_a_file_read_whole_loads_as_the_same_file_streamed(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _dataset(tmp_path / "data")
    whole = _whole_file_reads(monkeypatch)
    with monkeypatch.context() as streaming:
        streaming.setattr(pipeline, "WHOLE_FILE_BYTES", 0)  # every file streams row by row
        options = LoadOptions(rejects_dir=tmp_path / "r-streamed", context=CTX, batch_size=1000)
        expected_reports = load_dataset(store, data, options=options)
    expected = graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)
    assert whole == []

    store.run_autocommit("server/write/wipe_data")
    options = LoadOptions(rejects_dir=tmp_path / "r-whole", context=CTX, batch_size=1000)
    reports = load_dataset(store, data, options=options)
    assert sorted(whole) == sorted(p.name for p in data.glob("*.csv")), "plain CSV files are read whole"
    assert diff_fingerprints(expected, graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)) == []
    assert _counts(reports) == _counts(expected_reports)
    assert _rejected(tmp_path / "r-whole") == _rejected(tmp_path / "r-streamed")
    assert sum(r.rejected for r in reports) > 0, "the dataset holds bad rows"

    again = load_dataset(store, data, options=LoadOptions(rejects_dir=tmp_path / "r-again", context=CTX))
    assert diff_fingerprints(expected, graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)) == []
    assert sum(r.counts.nodes_created for r in again) == 0


def _changed_copy(data: Path, folder: Path) -> Path:
    """``data`` as a later export: most rows again as they were, some changed the ways that are easy to get
    wrong (a value given, removed or left blank to keep it; a consent flag turned; a channel replaced; new
    events on edges the graph holds), and one tie written twice in a row, first changed then as the graph
    holds it (the later row wins)."""
    shutil.copytree(data, folder)
    channels = [row["channel_id"] for row in csv.DictReader((data / "channels.csv").open(encoding="utf-8"))]

    def next_channel(channel: str) -> str:
        return channels[(channels.index(channel) + 1) % len(channels)]

    def user(i: int, row: dict[str, str]) -> dict[str, str]:
        if i % 5 == 0:
            row["city"] = f"Moved-{i}"
        if i % 13 == 0:
            row["occupation"] = ""  # blank: keeps the graph's value
        if i % 7 == 0 and row["marketing_consent"] in ("true", "false"):
            row["marketing_consent"] = "false" if row["marketing_consent"] == "true" else "true"
        if i % 11 == 0 and row["acquired_via"] in channels:
            row["acquired_via"] = next_channel(row["acquired_via"])
        return row

    def tie(i: int, row: dict[str, str]) -> dict[str, str]:
        if i % 4 == 0:
            row["since"] = "2021-06-01T00:00:00Z"
        elif i % 9 == 0:
            row["since"] = ""  # removes the tie's since
        return row

    def order(i: int, row: dict[str, str]) -> dict[str, str]:
        if i % 6 == 0:
            row["quantity"] = "3"  # another line (a line is keyed by its content)
        elif i % 10 == 0 and row["channel_id"] in channels:
            row["channel_id"] = next_channel(row["channel_id"])
        return row

    def user_tag(i: int, row: dict[str, str]) -> dict[str, str]:
        if i % 3 == 0:
            row["weight"] = "0.5"
        elif i % 8 == 0:
            row["assigned_at"] = ""  # keeps the tag's time
        return row

    def event(i: int, row: dict[str, str]) -> dict[str, str]:
        if i % 4 == 0 and row["event_id"]:
            row["event_id"] = f"later-{row['event_id']}"  # a new event, most on an edge the graph holds
        return row

    first = next(csv.DictReader((data / "ties.csv").open(encoding="utf-8")))
    again = f"{first['src_user_id']},{first['dst_user_id']},{first['kind']}"
    _rewrite(folder / "users.csv", user)
    _rewrite(folder / "events.csv", event)
    _rewrite(
        folder / "ties.csv",
        tie,
        [f"{again},2019-01-01T00:00:00Z", f"{again},{first['since']}"],
    )
    _rewrite(folder / "user_tags.csv", user_tag)
    _rewrite(folder / "orders.csv", order)
    _rewrite(
        folder / "identities.csv",
        lambda i, row: row,
        [f"u{i:07d},email,new-{i}@example.com" for i in range(1, 40, 3)],
    )
    return folder


@pytest.fixture(params=[None, 7], ids=["default-parts", "parts-of-7-keys"])
def keys_per_read(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default parts, or a file's keys read in parts of 7 (many parts, each read while the part before
    is written)."""
    if request.param is not None:
        monkeypatch.setattr(unchanged_rows, "CHUNK", request.param)


@pytest.mark.usefixtures("keys_per_read")
def test_a_later_export_writes_only_what_changed_and_ends_as_if_written_whole(
    store: GraphStore, tmp_path: Path
) -> None:
    data = _dataset(tmp_path / "data")
    later = _changed_copy(data, tmp_path / "later")

    def load(folder: Path, name: str, **options: object) -> list[FileReport]:
        return load_dataset(
            store, folder, options=LoadOptions(rejects_dir=tmp_path / name, context=CTX, **options)
        )

    load(data, "r-first")
    expected_reports = load(later, "r-every-row", write_unchanged=True)
    expected = graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)
    assert all(r.unchanged == 0 for r in expected_reports)

    store.run_autocommit("server/write/wipe_data")
    load(data, "r-first-again")
    reports = load(later, "r-changed")
    assert diff_fingerprints(expected, graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)) == []
    assert _counts(reports) == _counts(expected_reports)
    unchanged = {r.kind: r.unchanged for r in reports}
    for kind in ("users", "identities", "user_tags", "orders", "events", "ties"):
        kept = next(r for r in reports if r.kind == kind)
        assert 0 < kept.unchanged < kept.loaded, f"{kind}: some rows changed, most did not: {unchanged}"

    again = load(later, "r-again")
    assert diff_fingerprints(expected, graph_fingerprint(store, ignore=ALWAYS_LOAD_TIME)) == []
    for report in again:
        assert report.counts.nodes_created == report.counts.relationships_created == 0
        if report.kind in ("identities", "user_tags", "events"):
            assert report.unchanged == report.loaded, f"{report.kind}: a repeated file changes nothing"
            assert report.counts.properties_set == 0
        if report.kind in ("users", "orders", "ties"):
            # written again: a key given twice with different values (a friendship both ways, the tie
            # changed and back), consent statements the graph refused as older than its own (they differ
            # from the flags; merge_users decides, and records them once), an order now through two channels
            assert 0.8 * report.loaded < report.unchanged < report.loaded


def test_a_key_written_twice_keeps_the_later_row_when_the_earlier_one_differs(
    store: GraphStore, tmp_path: Path
) -> None:
    (tmp_path / "users.csv").write_text("user_id\nu1\nu2\n", encoding="utf-8")
    ties = tmp_path / "ties.csv"
    ties.write_text(
        "src_user_id,dst_user_id,kind,since\nu1,u2,follows,2020-01-01T00:00:00Z\n", encoding="utf-8"
    )
    options = LoadOptions(rejects_dir=tmp_path / "r", context=CTX)
    load_dataset(store, tmp_path, options=options)
    ties.write_text(
        "src_user_id,dst_user_id,kind,since\n"
        "u1,u2,follows,2023-03-03T00:00:00Z\n"  # changed, then back to what the graph holds
        "u1,u2,follows,2020-01-01T00:00:00Z\n",
        encoding="utf-8",
    )
    report = load_file(store, ties, options=options)
    assert (report.loaded, report.unchanged) == (2, 0)
    since, _, _ = store.driver.execute_query(
        "MATCH (:User {userId: 'u1'})-[t:FOLLOWS]->() RETURN t.since.year AS y", database_=store.database
    )
    assert [r["y"] for r in since] == [2020]


def test_unknown_references_are_rejected_or_made_placeholders_at_once(
    store: GraphStore, tmp_path: Path
) -> None:
    (tmp_path / "users.csv").write_text("user_id\nu1\nu2\n", encoding="utf-8")
    load_file(store, tmp_path / "users.csv", options=LoadOptions(rejects_dir=tmp_path / "r0", context=CTX))
    ties = tmp_path / "ties.csv"
    ties.write_text(
        "src_user_id,dst_user_id,kind\nu1,u2,follows\nu1,u9,follows\nu8,u2,friend\nu8,u9,referred\n",
        encoding="utf-8",
    )
    report = load_file(store, ties, options=LoadOptions(rejects_dir=tmp_path / "r1", context=CTX))
    assert (report.loaded, report.rejected) == (1, 3)
    entries = [json.loads(line) for line in (tmp_path / "r1" / "ties.jsonl").read_text().splitlines()]
    reasons = {(e["line"], e["field"]) for e in entries}
    assert reasons == {
        (3, "dst_user_id"),
        (4, "dst_user_id"),
        (5, "src_user_id"),
    }  # a friendship: smaller id first
    made = load_file(
        store, ties, options=LoadOptions(rejects_dir=tmp_path / "r2", context=CTX, create_missing=True)
    )
    assert (made.loaded, made.rejected, made.placeholders) == (4, 0, 2)


def test_a_forgotten_users_rows_in_a_file_read_whole_keep_nothing(store: GraphStore, tmp_path: Path) -> None:
    """Every way a plain CSV row can name a forgotten user is refused, and the rejects hold no copy."""
    (tmp_path / "users.csv").write_text("user_id,city\nu-gone,Paris\nu-kept,Rome\n", encoding="utf-8")
    (tmp_path / "products.csv").write_text("sku\np1\n", encoding="utf-8")
    first = LoadOptions(rejects_dir=tmp_path / "r0", context=CTX)
    load_dataset(store, tmp_path, options=first)
    forget_user(store, user_id="u-gone", key=KEY, actor="dpo")
    events = tmp_path / "events.csv"
    events.write_text(
        "user_id,kind,at,target\n"
        "u-kept,view,2025-01-01T00:00:00Z,p1\n"
        " u-gone ,view,2025-01-01T00:00:00Z,p1\n"  # not a plain value: validated by the model
        "u-gone,click,2025-01-01T00:00:00Z,p1\n"
        "u-kept,search,2025-01-01T00:00:00Z,who is U-GONE?\n"  # a search naming them
        "u-gone,view,2025-01-01T00:00:00Z\n"  # malformed: 3 values for 4 columns
        "u-kept,like,not a time,p1\n",
        encoding="utf-8",
    )
    options = LoadOptions(rejects_dir=tmp_path / "r1", context=CTX, suppression_key=KEY)
    report = load_file(store, events, options=options)
    assert report.rejects_file is not None
    text = report.rejects_file.read_text(encoding="utf-8")
    entries = {e["line"]: e for e in map(json.loads, text.splitlines())}
    assert {line for line, e in entries.items() if e["reason"] == REFUSED} == {3, 4, 5, 6}
    assert all(entries[line]["row"] is None and entries[line]["value"] is None for line in (3, 4, 5, 6))
    assert "gone" not in text.lower()
    assert entries[7]["field"] == "at", "a row naming no one is rejected for what is wrong with it"
    assert report.loaded == 1


@pytest.mark.usefixtures("keys_per_read")
def test_progress_tells_rows_read_rejects_and_the_files_total(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text(
        "user_id,birth_year\n" + "".join(f"u{i},{1800 if i % 10 == 0 else 1990}\n" for i in range(1, 51)),
        encoding="utf-8",
    )
    told: list[Tally] = []
    options = LoadOptions(rejects_dir=tmp_path / "r", context=CTX, batch_size=10)
    report = load_file(store, tmp_path / "users.csv", options=options, progress=told.append)
    assert [t.total for t in told] == [50] * len(told)
    assert [t.read for t in told] == sorted(t.read for t in told) and told[-1].read == 50 == report.read
    assert told[-1].rejected == report.rejected == 5

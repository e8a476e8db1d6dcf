"""Loader fuzzing: Hypothesis writes files of every kind the loaders accept (CSV and JSON lines), mixing
rows that look valid with arbitrary text, injection strings, wrong types, missing or extra columns and
values, huge values, bad dates, NaN/inf, a BOM, and quotes and newlines inside CSV fields.

Each file is loaded into a graph that holds a few known channels, products, users and tags (so that
references can resolve). Whatever the rows, the load must not raise: a file is either refused whole
(``UnusableInputError``, with a reason, nothing written) or loaded row by row, where
``read == loaded + rejected + duplicates``, every rejected row is in the rejects file with the line it
ends on and a non-empty reason, and the graph grows only when rows were loaded, by at most what the
loaded rows can create (checked against the loader's own write counters too).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, seed, settings
from hypothesis import strategies as st
from neo4j import Driver

from personagraph.graph.entities import KINDS, EntityKind
from personagraph.graph.records import RowContext
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset
from personagraph.loaders.readers import UnusableInputError
from tests.test_injection import PAYLOADS

EXAMPLES_PER_KIND = 60
SEED = 20250612
KNOWN: dict[str, list[str]] = {
    "users": ["u1", "u2", "u3"],
    "products": ["p1", "p2"],
    "channels": ["web", "app"],
    "tags": ["t1", "t2"],
}
BASE = {
    "channels.csv": "channel_id,name,kind\nweb,Web,online\napp,App,online\n",
    "products.csv": "sku,name,brand,category,price\n"
    "p1,Bike,Voltra,Vehicles/Bikes,100\np2,Helmet,Voltra,Gear,10\n",
    "users.csv": "user_id,city,acquired_via\nu1,Shanghai,web\nu2,Beijing,app\nu3,,\n",
    "tags.csv": "tag_id,name,tier\nt1,One,basic\nt2,Two,preference\n",
}
# Nodes one loaded row can create at most, per kind (products: the product, a brand, each category).
NODES_PER_ROW = {
    "channels": 1,
    "products": 2,  # plus one per category level, added per file below
    "users": 3,  # the user and up to two consent changes
    "identities": 1,
    "tags": 2,  # the tag and its parent
    "user_tags": 0,
    "orders": 1,
    "events": 1,  # a search term
    "ties": 0,
    "surveys": 2,  # the survey and the question
    "survey_answers": 0,
}
# Relationships one loaded row can create at most (users: ACQUIRED_VIA and two CONSENT_CHANGED;
# products: OF_BRAND, IN_CATEGORY and one SUBCATEGORY_OF per level).
RELATIONSHIPS_PER_ROW = {
    "channels": 0,
    "products": 2,
    "users": 3,
    "identities": 1,
    "tags": 1,
    "user_tags": 1,
    "orders": 3,  # PLACED, CONTAINS, VIA
    "events": 1,
    "ties": 1,
    "surveys": 1,  # HAS_QUESTION
    "survey_answers": 1,  # ANSWERED
}

# --- values -----------------------------------------------------------------------------------------

AWKWARD = st.sampled_from(
    [
        *PAYLOADS[:-1],  # all but the 10 kB one (huge values below)
        "",
        " ",
        "NaN",
        "nan",
        "inf",
        "-Infinity",
        "1e309",
        "-0",
        "\ufeffx",
        "a,b",
        'say "hi"',
        "line\nbreak",
        "cr\ronly",
        "tab\tin",
        "null",
        "None",
        "true",
        "[1, 2]",
        '{"a": 1}',
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "99999999999999999999",
        "-99999999999",
        "١٢٣",  # Arabic-Indic digits
    ]
)
HUGE = st.sampled_from(["x" * 250, "é" * 5_000, "A" * 20_000])
FREE_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(PAYLOADS[:-1]))  # stored as given
IDS = st.from_regex(r"\A[a-z0-9-]{1,10}\Z")
SAFE_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5))])
ANY_ZONE = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=30))]
)
RECENT = (datetime(2000, 1, 1), datetime(2030, 1, 1))
VALID_DATES = st.one_of(
    st.datetimes(*RECENT).map(lambda d: d.isoformat()),  # naive: UTC
    st.datetimes(*RECENT, timezones=SAFE_ZONES).map(lambda d: d.isoformat()),
    st.integers(946_684_800, 1_900_000_000).map(str),  # epoch seconds
    st.dates(date(2000, 1, 1), date(2030, 1, 1)).map(lambda d: d.isoformat()),
)
EDGE_DATES = st.one_of(
    st.datetimes(timezones=ANY_ZONE).map(lambda d: d.isoformat()),  # years 1-9999, offsets up to 14 h
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["2025-02-30", "2025-13-01T00:00:00Z", "24:00", "0000-00-00", "1.5e9"]),
)
EDGE_NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["1.5", "1e3", "0x10", "1_000", " 7 ", "-0", "1e-400"]),
)


def _enum(*values: str) -> st.SearchStrategy[str]:
    """A valid value in any case and spacing."""
    return st.sampled_from(values).flatmap(lambda v: st.sampled_from([v, v.upper(), f" {v} ", v.title()]))


def _known(kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from(KNOWN[kind])


def _own(kind: str) -> st.SearchStrategy[str]:
    """A kind's own key: one that exists (an update) or a new one."""
    return st.one_of(_known(kind), IDS)


def _optional(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(values, st.just(""))


KIND_ENUMS = {
    "channels": _optional(_enum("online", "offline", "social", "ads", "store", "referral")),
    "identities": _enum("email", "phone", "device", "x_1"),
    "events": _enum("view", "click", "like", "comment", "share", "search"),
    "ties": _enum("follows", "friend", "referred"),
}
VALID: dict[str, st.SearchStrategy[str]] = {
    "src_user_id": _known("users"),
    "dst_user_id": _known("users"),
    "target": _known("products"),
    "acquired_via": _optional(_known("channels")),
    "parent_id": _optional(_known("tags")),
    "order_id": IDS,
    "line_id": _optional(IDS),
    "event_id": _optional(IDS),
    "birth_year": _optional(st.integers(1900, 2100).map(str)),
    "price": _optional(st.decimals(0, 10_000, places=2).map(str)),
    "unit_price": _optional(st.decimals(0, 10_000, places=2).map(str)),
    "quantity": _optional(st.integers(1, 20).map(str)),
    "weight": _optional(st.floats(0, 1).map(str)),
    "marketing_consent": _optional(_enum("yes", "no", "true", "false", "1", "0", "y", "n")),
    "personalization_opt_out": _optional(_enum("yes", "no", "true", "false")),
    "tier": _enum("basic", "behavior", "preference"),
    "source": _optional(_enum("manual", "rule", "model")),
    "category": st.lists(st.sampled_from(["A", "B", " C ", "Vehicles", "E-bikes"]), max_size=4).map("/".join),
    "value": st.sampled_from(["ann@example.com", "+86 138-0000-1234", "dev-1", " Bob@Example.COM "]),
    "scale": _enum("likert5", "likert7", "nps", "single", "multi"),
    "options": _optional(st.sampled_from(["a|b", " x | y |z", "price|quality"])),
    "position": _optional(st.integers(0, 100).map(str)),
    "answer": st.sampled_from(["1", "07", "10", "a", "a|b", "quality"]),
}
DATE_COLUMNS = {
    "ordered_at",
    "at",
    "since",
    "acquired_at",
    "assigned_at",
    "expires_at",
    "consent_updated_at",
    "answered_at",
}
NUMBER_COLUMNS = {"birth_year", "price", "unit_price", "quantity", "weight"}
REFERENCES = {"user_id": "users", "sku": "products", "channel_id": "channels", "tag_id": "tags"}


def valid_values(kind: EntityKind, column: str) -> st.SearchStrategy[str]:
    """Text the loader should accept for the column (references name entities that exist)."""
    if column in DATE_COLUMNS:
        return VALID_DATES if column in ("ordered_at", "at", "answered_at") else _optional(VALID_DATES)
    if column == "kind":
        return KIND_ENUMS[kind.name]
    if column in REFERENCES:
        target = REFERENCES[column]
        if target == kind.name:
            return _own(target)
        return _optional(_known(target)) if column == "channel_id" else _known(target)
    return VALID.get(column, FREE_TEXT)


def column_values(kind: EntityKind, column: str) -> st.SearchStrategy[str]:
    """Mostly valid text for the column, else an edge case of its type, an awkward string or anything."""
    edge = EDGE_DATES if column in DATE_COLUMNS else EDGE_NUMBERS if column in NUMBER_COLUMNS else AWKWARD
    return st.integers(0, 9).flatmap(
        lambda i: (
            valid_values(kind, column)
            if i < 6
            else edge
            if i == 6
            else AWKWARD
            if i < 9
            else st.one_of(HUGE, st.text(max_size=40))
        )
    )


# --- files -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class File:
    """One generated input file and where each of its rows ends."""

    kind: EntityKind
    name: str
    content: str
    row_lines: list[int]  # the line each written row ends on (blank ones included)
    rows: int  # rows the reader will see (blank CSV lines are skipped)
    categories: int  # the most category levels any row names (products)

    def __repr__(self) -> str:  # a failing example shows its file, not megabytes of it
        shown = self.content if len(self.content) < 3000 else self.content[:3000] + "..."
        return f"File({self.name}, rows={self.rows}, row_lines={self.row_lines}, content={shown!r})"


@st.composite
def files(draw: st.DrawFn, kind: EntityKind) -> File:
    columns = list(kind.columns)
    optional = [c for c in columns if c not in kind.required_columns]
    dropped = set(draw(st.lists(st.sampled_from(optional), unique=True))) if optional else set()
    if draw(st.integers(0, 19)) == 0:  # now and then a required column is missing: refused whole
        dropped.add(draw(st.sampled_from(kind.required_columns)))
    header = [c for c in columns if c not in dropped] + draw(st.sampled_from([[], ["extra"]]))
    header = draw(st.permutations(header))
    fields = [c for c in header if c != "extra"]
    clean = st.fixed_dictionaries({c: valid_values(kind, c) for c in fields})
    mixed = st.fixed_dictionaries(
        {c: column_values(kind, c) for c in fields}, optional={"extra": st.text(max_size=5)}
    )
    rows: list[dict[str, str]] = draw(st.lists(st.one_of(clean, mixed), min_size=1, max_size=10))
    rows += draw(st.lists(st.sampled_from(rows), max_size=2))  # exact copies: counted as duplicates
    categories = max((len(r.get("category", "").split("/")) for r in rows), default=0)
    if draw(st.booleans()):
        return _jsonl(draw, kind, rows, categories)
    return _csv(draw, kind, header, rows, categories)


def _csv(
    draw: st.DrawFn, kind: EntityKind, header: list[str], rows: list[dict[str, str]], categories: int
) -> File:
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    out = io.StringIO()
    # Minimal quoting quotes a field holding a character of the line terminator only: with "\n" endings a
    # bare "\r" would end the row early, so those files quote every field.
    if terminator == "\r\n":
        writer = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_MINIMAL)
    else:
        writer = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    line, ends, seen = 1, [], 0
    for row in rows:
        values = [_utf8(row.get(c, "")) for c in header]
        shape = draw(st.integers(0, 14))
        if shape == 0:
            values = values[:-1]  # too few values
        elif shape == 1:
            values = [*values, "surplus"]  # too many
        elif shape == 2:
            values = []  # a blank line: skipped by the reader
        start = out.tell()
        writer.writerow(values)
        written = out.getvalue()[start:]
        line += len(re.findall(r"\r\n|\r|\n", written))
        ends.append(line)
        seen += bool(values)
    bom = "\ufeff" if draw(st.booleans()) else ""
    return File(kind, f"{kind.name}.csv", bom + out.getvalue(), ends, seen, categories)


def _utf8(text: str) -> str:
    """``text`` as UTF-8 can hold it (a lone surrogate becomes "?"). A CSV file is UTF-8 text; JSON lines
    written with ensure_ascii keep lone surrogates as escapes (the reader rejects those rows)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _jsonl(draw: st.DrawFn, kind: EntityKind, rows: list[dict[str, str]], categories: int) -> File:
    lines: list[str] = []
    for row in rows:
        shape = draw(st.integers(0, 14))
        escaped = draw(st.booleans())
        typed = {k: _typed(draw, v if escaped else _utf8(v)) for k, v in row.items()}
        if shape == 0:
            lines.append("not json {")
        elif shape == 1:
            lines.append(json.dumps(list(typed.values())))  # valid JSON, not an object
        else:
            lines.append(json.dumps(typed, ensure_ascii=escaped))
    content = "".join(line + "\n" for line in lines)
    return File(kind, f"{kind.name}.jsonl", content, list(range(1, len(lines) + 1)), len(lines), categories)


def _typed(draw: st.DrawFn, value: str) -> Any:
    """JSON lines carry types: now and then a number, a boolean, null, NaN or a nested value instead."""
    choice = draw(st.integers(0, 11))
    if choice == 0:
        return draw(st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True)))
    if choice == 1:
        return draw(st.sampled_from([None, True, False, [value], {"v": value}]))
    return value


# --- the graph ---------------------------------------------------------------------------------------


def census(store: GraphStore) -> tuple[int, int]:
    records, _, _ = store.driver.execute_query(
        "CALL () { MATCH (n) RETURN count(n) AS nodes } CALL () { MATCH ()-[r]->() RETURN count(r) AS rels } "
        "RETURN nodes, rels",
        database_=store.database,
    )
    return records[0]["nodes"], records[0]["rels"]


@pytest.fixture(scope="module")
def graph(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> GraphStore:
    """Known channels, products, users and tags, so generated references can resolve."""
    store = GraphStore(driver, neo4j_connection.database)
    store.run_autocommit("server/write/wipe_data")
    folder = tmp_path_factory.mktemp("loader-fuzz-base")
    for name, text in BASE.items():
        (folder / name).write_text(text, encoding="utf-8")
    reports = load_dataset(store, folder, options=LoadOptions(rejects_dir=folder / "rejects"))
    assert all(r.rejected == 0 for r in reports)
    return store


@dataclass
class Workspace:
    root: Path
    runs: int = 0

    def folder(self) -> Path:
        self.runs += 1
        path = self.root / f"run-{self.runs}"
        path.mkdir()
        return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("loader-fuzz"))


def load_generated(store: GraphStore, file: File, folder: Path) -> FileReport | UnusableInputError:
    data = folder / "data"
    data.mkdir()
    (data / file.name).write_text(file.content, encoding="utf-8")
    options = LoadOptions(batch_size=4, rejects_dir=folder / "rejects", context=RowContext(identity_salt="f"))
    try:
        (report,) = load_dataset(store, data, options=options)
    except UnusableInputError as refused:
        return refused
    return report


def check(store: GraphStore, file: File, folder: Path) -> None:
    before = census(store)
    outcome = load_generated(store, file, folder)
    after = census(store)
    if isinstance(outcome, UnusableInputError):
        event("refused whole")
        assert str(outcome).strip(), "refused without a reason"
        assert after == before, "a refused file wrote to the graph"
        return
    report = outcome
    event("some rows loaded" if report.loaded else "no row loaded")
    assert report.read == file.rows, (report.read, file.rows)
    assert report.read == report.loaded + report.rejected + report.duplicates, report
    rejects = []
    if report.rejects_file is not None:
        text = report.rejects_file.read_text(encoding="utf-8")
        rejects = [json.loads(line) for line in text.split("\n") if line]  # not splitlines: "\x85" is a value
    assert len(rejects) == report.rejected, (len(rejects), report.rejected)
    for entry in rejects:
        assert entry["line"] in file.row_lines, (entry["line"], file.row_lines)
        assert isinstance(entry["reason"], str) and entry["reason"].strip(), entry
        assert entry["field"], entry
    rejected_per_line = Counter(entry["line"] for entry in rejects)
    assert max(rejected_per_line.values(), default=0) <= 1, "a row rejected twice"
    nodes, rels = after[0] - before[0], after[1] - before[1]
    if report.loaded == 0:
        assert (nodes, rels) == (0, 0), "nothing loaded, yet the graph changed"
    per_row_nodes = NODES_PER_ROW[file.kind.name] + (file.categories if file.kind.name == "products" else 0)
    per_row_rels = RELATIONSHIPS_PER_ROW[file.kind.name] + (
        file.categories if file.kind.name == "products" else 0
    )
    assert 0 <= nodes <= report.loaded * per_row_nodes, (nodes, report)
    assert rels <= report.loaded * per_row_rels, (rels, report)
    assert nodes == report.counts.nodes_created - report.counts.nodes_deleted, (nodes, report.counts)
    assert rels == report.counts.relationships_created - report.counts.relationships_deleted, (
        rels,
        report.counts,
    )


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=EXAMPLES_PER_KIND,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.mark.parametrize("kind", list(KINDS))
@seed(SEED)
@FUZZ
@given(data=st.data())
def test_generated_rows_are_loaded_or_rejected_with_a_reason(
    kind: str, data: st.DataObject, graph: GraphStore, workspace: Workspace
) -> None:
    file = data.draw(files(KINDS[kind]), label="file")
    check(graph, file, workspace.folder())


# --- what fuzzing found, kept as plain examples ---------------------------------------------------------


def _load_one(store: GraphStore, folder: Path, name: str, content: str | bytes) -> FileReport:
    data = folder / "data"
    data.mkdir()
    target = data / name
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    options = LoadOptions(rejects_dir=folder / "rejects", context=RowContext(identity_salt="f"))
    (report,) = load_dataset(store, data, options=options)
    return report


def _reasons(report: FileReport) -> dict[int, str]:
    assert report.rejects_file is not None
    entries = [
        json.loads(line) for line in report.rejects_file.read_text(encoding="utf-8").split("\n") if line
    ]
    return {entry["line"]: entry["reason"] for entry in entries}


@pytest.mark.parametrize(
    ("name", "content", "lines"),
    [
        # Epoch seconds past time_t raised OverflowError out of validation (graph/records.py).
        ("events.csv", "user_id,kind,at,target\nu1,view,99999999999999999999,p1\n", [2]),
        # A time that leaves years 1-9999 once in UTC raised OverflowError in the row transform.
        (
            "events.csv",
            "user_id,kind,at,target\nu1,view,0001-01-01T00:00:00+14:00,p1\nu1,view,9999-12-31T23:00:00-14:00,p1\n",
            [2, 3],
        ),
        ("orders.csv", "order_id,user_id,sku,ordered_at\no-x,u1,p1,0001-01-01T05:00:00+08:00\n", [2]),
        # Values over Neo4j's index entry limit (~8 kB) failed the whole batch with a database error.
        (
            "users.csv",
            "user_id,city,gender\nu-big," + "A" * 10_000 + ",f\nu-big2,x," + "g" * 9_000 + "\n",
            [2, 3],
        ),
        (
            "products.csv",
            "sku,brand,category\np-big," + "B" * 10_000 + ",\np-big2,,C/" + "D" * 9_000 + "\n",
            [2, 3],
        ),
        ("tags.csv", "tag_id,tier,parent_id\nt-big,basic," + "P" * 10_000 + "\n", [2]),
    ],
)
def test_rows_fuzzing_found_are_rejected_with_a_reason(
    name: str, content: str, lines: list[int], graph: GraphStore, workspace: Workspace
) -> None:
    before = census(graph)
    report = _load_one(graph, workspace.folder(), name, content)
    assert (report.loaded, report.rejected) == (0, len(lines))
    assert sorted(_reasons(report)) == lines and all(_reasons(report).values())
    assert census(graph) == before


def _never_crashes(store: GraphStore, folder: Path, name: str, content: str | bytes) -> None:
    """Loaded or rejected row by row, or refused whole with a reason; nothing else."""
    try:
        report = _load_one(store, folder, name, content)
    except UnusableInputError as refused:
        assert str(refused)
        return
    assert report.read == report.loaded + report.rejected + report.duplicates
    assert report.rejected >= 1 and all(_reasons(report).values())


def test_a_lone_surrogate_in_json_lines_is_rejected_with_a_reason(
    graph: GraphStore, workspace: Workspace
) -> None:
    content = '{"user_id": "u1", "kind": "email", "value": "\\ud800"}\n'
    _never_crashes(graph, workspace.folder(), "identities.jsonl", content)


def test_a_csv_field_over_the_csv_module_limit_is_rejected_with_a_reason(
    graph: GraphStore, workspace: Workspace
) -> None:
    content = "channel_id,name\nc-ok,fine\nc-huge," + "N" * 200_000 + "\n"
    _never_crashes(graph, workspace.folder(), "channels.csv", content)


def test_bytes_that_are_not_utf8_in_a_csv_row_are_rejected_with_a_reason(
    graph: GraphStore, workspace: Workspace
) -> None:
    good = "".join(f"c-{i},fine\n" for i in range(1_000)).encode()
    content = b"channel_id,name\n" + good + b"c-bad,\xff\xfe\x80\n"
    _never_crashes(graph, workspace.folder(), "channels.csv", content)

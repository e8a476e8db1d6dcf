"""Consent history and forget-me against the real Neo4j: no trace left, no resurrection, one key."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from personagraph.graph.audiences.service import save_audience
from personagraph.graph.audit import AuditLog
from personagraph.graph.errors import ConfigurationError, NotFoundError, SuppressedUserError
from personagraph.graph.events.record import record_event, record_order
from personagraph.graph.privacy.consent import PrivacyInputError, consent_history, set_consent
from personagraph.graph.privacy.forget import (
    REFUSED,
    ensure_not_suppressed,
    forget_user,
    scrub_value,
    suppressed,
    suppression_hash,
)
from personagraph.graph.profiles.identities import resolve_identities
from personagraph.graph.profiles.write import upsert_user
from personagraph.graph.records import RowContext
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.taxonomy import tag_user
from personagraph.loaders.generator import generate
from personagraph.loaders.pipeline import FileReport, LoadOptions, load_dataset, load_file
from tests.api_support import analyse

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
DEMO_DATA = Path(__file__).resolve().parent.parent / "loaders" / "demo_data"
USER_COLUMNS = ("user_id", "src_user_id", "dst_user_id")


def _rows(store: GraphStore, query: str, **params: Any) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(query, params)
    return [r.data() for r in records]


def _options(tmp_path: Path, rejects: str, key: bytes | None = KEY, **more: Any) -> LoadOptions:
    return LoadOptions(
        batch_size=500,
        rejects_dir=tmp_path / rejects,
        context=RowContext(identity_salt="t"),
        suppression_key=key,
        **more,
    )


def _rejects(report: FileReport) -> list[dict[str, Any]]:
    if report.rejects_file is None:
        return []
    return [json.loads(line) for line in report.rejects_file.read_text(encoding="utf-8").splitlines()]


# --- pure ----------------------------------------------------------------------------------------


def test_scrub_replaces_whole_ids_only_and_keeps_json_valid() -> None:
    assert scrub_value("u1", "u1", "X") == "X"
    assert scrub_value("u12 and u1, u1x", "u1", "X") == "u12 and X, u1x"
    assert scrub_value(["u1", "u2", 3], "u1", "X") == ["X", "u2", 3]
    definition = '{"or":[{"referralHops":{"maxHops":1,"userId":"u1"}},{"attribute":{"value":"u12"}}]}'
    scrubbed = json.loads(scrub_value(definition, "u1", "X"))
    assert (
        scrubbed["or"][0]["referralHops"]["userId"] == "X"
        and scrubbed["or"][1]["attribute"]["value"] == "u12"
    )
    assert scrub_value(7, "u1", "X") == 7 and scrub_value("nothing", "u1", "X") == "nothing"


# --- consent -------------------------------------------------------------------------------------


def _write_users(folder: Path, rows: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.csv").write_text(
        "user_id,city,marketing_consent,personalization_opt_out,consent_updated_at\n" + rows, encoding="utf-8"
    )
    return folder / "users.csv"


def test_loader_records_consent_history_once_per_change(store: GraphStore, tmp_path: Path) -> None:
    first = _write_users(
        tmp_path / "a",
        "c1,Shanghai,true,false,2025-01-02T03:04:05Z\n"
        "c2,Beijing,false,,\n"  # no consent time: the load time
        "c3,Chengdu,,,\n",  # no consent given: no history
    )
    started = datetime.now(UTC)
    assert load_file(store, first, options=_options(tmp_path, "r1")).rejected == 0
    history = consent_history(store, user_ids=["c1", "c2", "c3", "nobody"])
    assert [(c.purpose, c.granted) for c in history["c1"]] == [("marketing", True), ("personalised", True)]
    assert {c.at for c in history["c1"]} == {datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)}
    assert {c.source for c in history["c1"]} == {"load:users.csv"}
    assert [(c.purpose, c.granted) for c in history["c2"]] == [("marketing", False)]
    assert history["c2"][0].at >= started.replace(microsecond=0)
    assert history["c3"] == [] and history["nobody"] == []

    again = load_file(store, first, options=_options(tmp_path, "r2"))  # a re-load (or a resumed load)
    assert again.counts.nodes_created == 0
    assert consent_history(store, user_ids=["c1"])["c1"] == history["c1"]

    changed = _write_users(
        tmp_path / "b", "c1,Shanghai,false,false,2025-02-01T00:00:00Z\nc3,Chengdu,true,,\n"
    )
    load_file(store, changed, options=_options(tmp_path, "r3"))
    after = consent_history(store, user_ids=["c1", "c3"])
    assert len(after["c1"]) == 3 and (after["c1"][0].purpose, after["c1"][0].granted) == ("marketing", False)
    assert after["c1"][0].at == datetime(2025, 2, 1, tzinfo=UTC)
    assert [(c.purpose, c.granted) for c in after["c3"]] == [("marketing", True)]


def test_set_consent_sets_the_flag_and_records_every_statement(store: GraphStore, tmp_path: Path) -> None:
    load_file(store, _write_users(tmp_path, "c1,Shanghai,true,false,\n"), options=_options(tmp_path, "r"))
    at = datetime(2030, 1, 1, tzinfo=UTC)
    change = set_consent(
        store, user_id="c1", purpose="marketing", granted=False, source="preference centre", at=at
    )
    assert change.at == at and change.source == "preference centre"
    set_consent(store, user_id="c1", purpose="personalisation", granted=False, source="app", at=at)
    set_consent(
        store, user_id="c1", purpose="personalisation", granted=False, source="app"
    )  # same value again
    flags = _rows(
        store, "MATCH (u:User {userId: 'c1'}) RETURN u.marketingConsent AS m, u.personalizationOptOut AS p"
    )
    assert flags == [{"m": False, "p": True}]
    history = consent_history(store, user_ids=["c1"])["c1"]
    assert len(history) == 5  # two from the load, three statements
    assert [c.at for c in history] == sorted((c.at for c in history), reverse=True)
    assert history[0].source == "app" and not history[0].granted
    with pytest.raises(PrivacyInputError, match=r"^purpose: 'email'"):
        set_consent(store, user_id="c1", purpose="email", granted=True, source="x")
    with pytest.raises(PrivacyInputError, match=r"^source: "):
        set_consent(store, user_id="c1", purpose="marketing", granted=True, source="  ")
    with pytest.raises(NotFoundError, match="userId: no user with id 'nobody'"):
        set_consent(store, user_id="nobody", purpose="marketing", granted=True, source="x")


# --- forget: no trace, no resurrection -----------------------------------------------------------


CHOOSE = """
MATCH (u:User)
WHERE u.socialCommunity IS NOT NULL AND NOT u.userId IN $avoid AND u.userId IN $tagged
  AND EXISTS { (u)-[:HAS_PERSONA]->() } AND EXISTS { (u)-[:PLACED]->() }
  AND EXISTS { (u)-[:VIEWED|CLICKED|LIKED|COMMENTED|SHARED]->() } AND EXISTS { (u)-[:SEARCHED]->() }
  AND EXISTS { (u)-[:HAS_IDENTITY]->() } AND EXISTS { (u)-[:FRIEND_OF]-() } AND EXISTS { (u)-[:FOLLOWS]-() }
  AND EXISTS { (u)-[:REFERRED]-() } AND EXISTS { (u)-[:HAS_TAG {source: 'rule'}]->() }
RETURN u.userId AS id ORDER BY COUNT { (u)-[:FRIEND_OF|FOLLOWS|REFERRED]-() } DESC LIMIT 1
"""


def _traces(store: GraphStore, needles: list[str]) -> list[str]:
    """Every node and relationship property (list items included) holding any needle."""

    def hits(owner: str, props: dict[str, Any]) -> Iterator[str]:
        for key, value in props.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and any(n in item for n in needles):
                    yield f"{owner}.{key}={item!r}"

    found: list[str] = []
    for r in _rows(store, "MATCH (n) RETURN labels(n) AS l, properties(n) AS p"):
        found += hits(":".join(r["l"]), r["p"])
    for r in _rows(store, "MATCH ()-[r]->() RETURN type(r) AS t, properties(r) AS p"):
        found += hits(r["t"], r["p"])
    return found


def _lines_naming(folder: Path, ids: set[str]) -> dict[str, set[int]]:
    """File name -> lines (the header is line 1) with a user column naming one of ``ids``; exact
    repeats of an earlier line are left out (the loader drops them as duplicates)."""
    found: dict[str, set[int]] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            columns = [i for i, name in enumerate(header) if name in USER_COLUMNS]
            seen: set[tuple[str, ...]] = set()
            for line, row in enumerate(reader, start=2):
                if tuple(row) in seen:
                    continue
                seen.add(tuple(row))
                if columns and any(i < len(row) and row[i].strip() in ids for i in columns):
                    found.setdefault(path.name, set()).add(line)
    return found


def _revenue(store: GraphStore) -> float:
    query = (
        "MATCH (:Order)-[l:CONTAINS]->(p:Product) "
        "RETURN sum(coalesce(l.quantity, 1) * coalesce(l.unitPrice, p.price, 0.0)) AS revenue"
    )
    return float(_rows(store, query)[0]["revenue"])


def test_forget_leaves_no_trace_and_the_user_never_comes_back(store: GraphStore, tmp_path: Path) -> None:
    report = generate(tmp_path / "data", users=250, seed=11)
    first = load_dataset(store, report.out_dir, options=_options(tmp_path, "r1"))
    resolve_identities(store)
    analyse(store)
    truth = report.out_dir / "truth"
    pairs = json.loads((truth / "duplicates.json").read_text())
    in_pairs = sorted({uid for pair in pairs for uid in pair})
    with (report.out_dir / "user_tags.csv").open(encoding="utf-8") as handle:
        tagged = sorted({row["user_id"] for row in csv.DictReader(handle)})
    uid = _rows(store, CHOOSE, avoid=in_pairs, tagged=tagged)[0]["id"]
    canonical = min(pairs[0])  # resolved customer of a duplicate pair: the other keeps its identity
    other = max(pairs[0])
    assert _rows(store, "MATCH (u:User {userId: $id}) RETURN u.customerId AS c", id=other) == [
        {"c": canonical}
    ]

    # Copies of the id outside the user's own data: a saved audience naming them, memberships.
    save_audience(
        store,
        audience_id="around-them",
        name="Around them",
        owner="ana",
        purpose="analysis",
        definition={
            "or": [
                {"referralHops": {"userId": uid}},
                {"attribute": {"field": "customerId", "op": "eq", "value": uid}},
            ]
        },
    )
    everyone = {"attribute": {"field": "city", "op": "exists", "value": True}}
    save_audience(
        store, audience_id="everyone", name="Everyone", owner="ana", purpose="analysis", definition=everyone
    )
    assert (
        _rows(store, "MATCH (:User {userId: $id})-[m:IN_AUDIENCE]->() RETURN count(m) AS n", id=uid)[0]["n"]
        > 0
    )

    identity_values = [
        r["v"]
        for r in _rows(store, "MATCH (:User {userId: $id})-[:HAS_IDENTITY]->(i) RETURN i.value AS v", id=uid)
    ]
    with (report.out_dir / "identities.csv").open(encoding="utf-8") as handle:
        raw_identities = [row["value"].strip() for row in csv.DictReader(handle) if row["user_id"] == uid]
    ties = "MATCH (:User {userId: $id})-[:FRIEND_OF|FOLLOWS|REFERRED]-(n:User) RETURN DISTINCT n.userId AS id"
    neighbours = [r["id"] for r in _rows(store, ties, id=uid)]
    orders = _rows(store, "MATCH (:User {userId: $id})-[:PLACED]->(o) RETURN count(o) AS n", id=uid)[0]["n"]
    revenue = _revenue(store)
    assert identity_values and raw_identities and neighbours and orders
    needles = [uid, *identity_values, *raw_identities]
    assert _traces(store, needles)  # the scan finds them before

    done = forget_user(store, user_id=uid, key=KEY, actor="dpo")
    assert done.subject == suppression_hash(KEY, uid) and done.removed["users"] == 1
    assert done.anonymised_orders == orders and done.stale_neighbours == len(neighbours)
    assert done.stale_groups >= 2  # their social community and persona
    assert done.removed["identities"] == len(identity_values) and done.removed["IN_AUDIENCE"] >= 1
    assert done.removed["copies"] >= 1  # the saved definition naming them (a property changed)
    second = forget_user(store, user_id=canonical, key=KEY, actor="dpo")
    assert second.removed["customer_links"] == 1

    assert _traces(store, [*needles, canonical]) == []
    assert _revenue(store) == pytest.approx(revenue)
    hashes = {r["h"] for r in _rows(store, "MATCH (s:Suppressed) RETURN s.hash AS h")}
    assert hashes == {done.subject, second.subject}
    stale = _rows(
        store, "MATCH (n:User) WHERE n.userId IN $ids RETURN count(n.analyticsStaleAt) AS n", ids=neighbours
    )
    assert stale == [{"n": len(neighbours)}]
    assert _rows(store, "MATCH (c:Community) WHERE c.staleAt IS NOT NULL RETURN count(c) AS n")[0]["n"] >= 1
    anonymous = _rows(
        store,
        "MATCH (o:Order) WHERE o.orderId STARTS WITH 'anon-' "
        "RETURN count(o) AS n, sum(COUNT { (o)<-[:PLACED]-() }) AS owned, "
        "sum(CASE WHEN o.orderedAt = datetime.truncate('day', o.orderedAt) THEN 1 ELSE 0 END) AS days",
    )[0]
    assert anonymous["n"] >= orders and anonymous["owned"] == 0 and anonymous["days"] == anonymous["n"]
    # The other half of the duplicate pair stays, with its own customer id and its shared identity.
    assert _rows(store, "MATCH (u:User {userId: $id}) RETURN u.customerId AS c", id=other) == [{"c": other}]
    assert _rows(store, "MATCH (:User {userId: $id})-[:HAS_IDENTITY]->(i) RETURN count(i) AS n", id=other)[0][
        "n"
    ]

    # Idempotent; a different key is refused before anything is written.
    again = forget_user(store, user_id=uid, key=KEY, actor="dpo")
    assert again.removed == {} and again.anonymised_orders == 0 and again.subject == done.subject
    with pytest.raises(NotFoundError):
        forget_user(store, user_id="nobody-at-all", key=KEY, actor="dpo")
    users_before = _rows(store, "MATCH (u:User) RETURN count(u) AS n")[0]["n"]
    with pytest.raises(ConfigurationError, match="does not match"):
        forget_user(store, user_id=neighbours[0], key=OTHER_KEY, actor="dpo")
    assert _rows(store, "MATCH (u:User) RETURN count(u) AS n")[0]["n"] == users_before
    for bad_key in (OTHER_KEY, None):
        with pytest.raises(ConfigurationError):
            load_dataset(store, report.out_dir, options=_options(tmp_path, "rx", key=bad_key))

    # Re-loading the original files: their rows (invalid ones too) are rejected with line and reason only,
    # the rest loads.
    forgotten = {uid, canonical}
    assert first  # the first load's rejects may hold their rows; the reload's must not
    expected = {
        (name, line) for name, lines in _lines_naming(report.out_dir, forgotten).items() for line in lines
    }
    reloaded = load_dataset(store, report.out_dir, options=_options(tmp_path, "r2"))
    refused = {(r.path.name, x["line"]): x for r in reloaded for x in _rejects(r) if x["reason"] == REFUSED}
    assert set(refused) == expected
    assert all(x["value"] is None and x["row"] is None for x in refused.values())
    assert not any(
        needle in path.read_text(encoding="utf-8")
        for path in (tmp_path / "r2").glob("*.jsonl")
        for needle in [*forgotten, *raw_identities]
    )
    assert {name for name, _ in refused} == {
        "users.csv", "identities.csv", "user_tags.csv", "orders.csv", "events.csv", "ties.csv"
    }  # fmt: skip
    assert all(r.loaded > 0 for r in reloaded)
    assert _rows(
        store, "MATCH (u:User) WHERE u.userId IN $ids RETURN count(u) AS n", ids=sorted(forgotten)
    ) == [{"n": 0}]

    # Placeholders never re-create them either.
    extra = tmp_path / "extra" / "events.csv"
    extra.parent.mkdir()
    extra.write_text(
        f"user_id,kind,at,target\n{uid},view,2025-06-01T00:00:00Z,P00001\nbrand-new,view,2025-06-01T00:00:00Z,P00001\n"
    )
    events = load_file(store, extra, options=_options(tmp_path, "r3", create_missing=True))
    assert events.placeholders == 1 and [x["line"] for x in _rejects(events)] == [2]

    # Analytics run again: still no trace.
    analyse(store)
    resolve_identities(store)
    assert _traces(store, [*needles, canonical]) == []

    # API-facing writes refuse them.
    assert suppressed(store, KEY, [uid, neighbours[0]]) == {uid}
    with pytest.raises(SuppressedUserError, match=r"^userId: refused: this user asked to be forgotten$"):
        upsert_user(store, user_id=uid, fields={"city": "Shanghai"}, suppression_key=KEY)
    with pytest.raises(SuppressedUserError):
        record_event(
            store, user_id=uid, kind="view", at="2025-06-01T00:00:00Z", target="P00001", suppression_key=KEY
        )
    with pytest.raises(SuppressedUserError):
        record_order(
            store, order_id="new-1", user_id=uid, lines=[("P00001", 1, None)],
            ordered_at="2025-06-01T00:00:00Z", suppression_key=KEY,
        )  # fmt: skip
    with pytest.raises(SuppressedUserError):
        tag_user(store, user_id=uid, tag_id="demo-parent", suppression_key=KEY)
    with pytest.raises(SuppressedUserError, match=f"user '{uid}'"):
        ensure_not_suppressed(store, KEY, [neighbours[0], uid])
    with pytest.raises(ConfigurationError):
        ensure_not_suppressed(store, OTHER_KEY, [uid])
    assert upsert_user(store, user_id="fresh", fields={"city": "Xi'an"}, suppression_key=KEY).city == "Xi'an"
    assert _traces(store, [uid]) == []


# --- CLI -----------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(
    neo4j_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[CliRunner, Path]]:
    from personagraph.graph.settings import get_settings

    monkeypatch.setenv("PERSONA_SECRET_KEY", "privacy-test-secret")
    monkeypatch.setenv("PERSONA_AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.setenv("PERSONA_DATA_DIR", str(tmp_path / "data-dir"))
    get_settings.cache_clear()
    yield CliRunner(), tmp_path / "audit.log"
    get_settings.cache_clear()


def test_cli_consent_and_forget(store: GraphStore, cli_env: tuple[CliRunner, Path], tmp_path: Path) -> None:
    from personagraph.cli.main import app
    from personagraph.graph.privacy.forget import suppression_key
    from personagraph.graph.settings import get_settings

    runner, audit_path = cli_env
    assert runner.invoke(app, ["load", str(DEMO_DATA), "--rejects", str(tmp_path / "r1")]).exit_code == 0
    done = runner.invoke(
        app, ["consent", "set", "u001", "--purpose", "marketing", "--revoked", "--source", "call centre"]
    )
    assert done.exit_code == 0, done.output
    assert "u001: marketing revoked" in done.output
    done = runner.invoke(app, ["consent", "history", "u001"])
    assert done.exit_code == 0 and "call centre" in done.output and "load:users.csv" in done.output
    done = runner.invoke(app, ["consent", "set", "u001", "--purpose", "email", "--granted", "--source", "x"])
    assert isinstance(done.exception, PrivacyInputError)

    assert runner.invoke(app, ["forget", "u001"], input="n\n").exit_code != 0  # not confirmed
    assert _rows(store, "MATCH (u:User {userId: 'u001'}) RETURN count(u) AS n") == [{"n": 1}]
    done = runner.invoke(app, ["forget", "u001", "--yes", "--actor", "dpo-ana"])
    assert done.exit_code == 0, done.output
    assert _rows(store, "MATCH (u:User {userId: 'u001'}) RETURN count(u) AS n") == [{"n": 0}]

    entries = [e for e in AuditLog(audit_path).entries() if e.action == "forget"]
    assert len(entries) == 1 and entries[0].actor == "dpo-ana" and entries[0].role == "admin"
    assert entries[0].details["subject"] == suppression_hash(suppression_key(get_settings()), "u001")
    assert entries[0].details["removed"]["users"] == 1
    assert "u001" not in audit_path.read_text(encoding="utf-8")

    done = runner.invoke(app, ["load", str(DEMO_DATA), "--rejects", str(tmp_path / "r2")])
    assert done.exit_code == 3  # u001's rows rejected, the rest loaded
    assert _rows(store, "MATCH (u:User {userId: 'u001'}) RETURN count(u) AS n") == [{"n": 0}]
    assert runner.invoke(app, ["forget", "u001", "--yes"]).exit_code == 0  # already forgotten: fine
    assert isinstance(runner.invoke(app, ["forget", "nobody", "--yes"]).exception, NotFoundError)

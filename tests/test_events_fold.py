"""The folding worker against the real Neo4j: a micro-batch folds events, orders and profile updates in one
transaction with the tag, membership and change-log writes that follow; a crash before the commit leaves
nothing, one after it doubles nothing; a poison entry is rejected alone; forget-me takes the change log."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from personagraph.graph.audiences.parse import parse_definition
from personagraph.graph.audiences.reads import ActionRead, AudienceReads, ProductFacts, Touched, reads
from personagraph.graph.audiences.service import save_audience
from personagraph.graph.changes.log import NewChange, changes_after, latest_cursor, record_changes
from personagraph.graph.events import fold as fold_module
from personagraph.graph.events import worker as worker_module
from personagraph.graph.events.envelope import parse_batch
from personagraph.graph.events.fold import fold, fold_cursor
from personagraph.graph.events.journal import SqliteJournal
from personagraph.graph.events.worker import FoldingWorker
from personagraph.graph.privacy.forget import forget_user, suppression_key
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import TagCache
from personagraph.graph.tags.rule_file import RuleSet
from tests.test_tags import AS_OF, rules, shop  # noqa: F401 (fixtures)

SETTINGS = Settings(secret_key="fold-test-secret-key-0123456789")
NIGHT = ["2025-06-10T23:00:00Z", "2025-06-11T00:30:00Z", "2025-06-12T22:00:00Z"]


def _track(message_id: str, user: str, event: str, at: str, **properties: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "type": "track",
        "event": event,
        "userId": user,
        "timestamp": at,
        "properties": properties,
    }


def _journal(tmp_path: Path, events: list[dict[str, Any]]) -> SqliteJournal:
    journal = SqliteJournal(tmp_path / "events.sqlite3")
    parsed = parse_batch(events, received_at=datetime.now(UTC))
    assert not parsed.rejected, parsed.rejected
    journal.append([envelope for _, envelope in parsed.accepted])
    return journal


def _worker(
    store: GraphStore, journal: SqliteJournal, rule_set: RuleSet, batch: int | None = None
) -> FoldingWorker:
    """A folding worker as the tests' settings make it; ``batch``: at most that many entries a fold."""
    settings = SETTINGS if batch is None else SETTINGS.model_copy(update={"events_fold_batch": batch})
    return FoldingWorker(store, journal, settings, rules=rule_set, suppression_key=suppression_key(settings))


def _refreshes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The arguments of every tag refresh the fold makes from now on (it still refreshes)."""
    calls: list[dict[str, Any]] = []
    real = fold_module.refresh_tags

    def spy(store: GraphStore, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(store, **kwargs)

    monkeypatch.setattr(fold_module, "refresh_tags", spy)
    return calls


def _count(store: GraphStore, cypher: str, **params: Any) -> Any:
    records, _, _ = store.driver.execute_query(cypher, params)
    return records[0][0]


NIGHT_EVENTS = [
    _track("m1", "u_day", "Product Viewed", NIGHT[0], sku="H1"),
    _track("m2", "u_day", "Product Viewed", NIGHT[1], sku="H1"),
    _track("m3", "u_day", "Products Searched", NIGHT[2], query=" Kettle "),
    _track("m4", "nobody", "Product Viewed", NIGHT[0], sku="H1"),
    _track("m5", "u_day", "Product Viewed", NIGHT[0], sku="P404"),
    {"messageId": "m6", "type": "identify", "userId": "u_fresh", "traits": {"city": "Wuhan"}},
    _track("m7", "u_fresh", "Product Clicked", NIGHT[0], sku="V1"),
    _track(
        "m8",
        "u_new",
        "Order Completed",
        "2025-06-25T12:00:00Z",
        order_id="o20",
        products=[{"sku": "H3", "quantity": 1, "price": 20.0}],
    ),
    _track("m9", "u_new", "Order Completed", NIGHT[0], order_id="o1", products=[{"sku": "H3"}]),
]


def test_a_batch_folds_with_its_tags_membership_and_changes(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
) -> None:
    save_audience(
        shop,
        audience_id="night-owls",
        name="Night owls",
        definition={"tag": {"tagId": "night-owl"}},
        owner="test",
        purpose="analysis",
    )
    journal = _journal(tmp_path, NIGHT_EVENTS)
    worker = _worker(shop, journal, rules)
    report = worker.fold_once()
    outcomes = {o.offset: o for o in report.outcomes}
    assert [o.status for o in report.outcomes] == ["folded"] * 3 + ["rejected"] * 2 + ["folded"] * 3 + [
        "rejected"
    ]
    assert outcomes[4].detail == {"code": "NOT_FOUND", "reason": "user_id: no user with id 'nobody'"}
    assert outcomes[5].detail["reason"] == "target: no product with id 'P404'"
    assert "placed by another user" in outcomes[9].detail["reason"]
    assert "u_thrift" not in str(outcomes[9].detail)  # the other user is never named
    assert outcomes[3].detail["tags_added"] == ["night-owl"] and outcomes[3].detail["new"] is True
    assert fold_cursor(shop, journal.log_id) == 9
    worker.settle()  # the outcomes go back to the journal beside the next fold: wait for them
    assert journal.outcome(3) == outcomes[3]
    assert (
        _count(shop, "MATCH (:User {userId: 'u_fresh'})-[c:CLICKED]->(:Product {sku: 'V1'}) RETURN c.count")
        == 1
    )
    assert _count(shop, "MATCH (u:User {userId: 'u_fresh'}) RETURN u.city") == "Wuhan"
    assert (
        _count(shop, "MATCH (:User {userId: 'u_new'})-[:PLACED]->(o:Order {orderId: 'o20'}) RETURN count(o)")
        == 1
    )

    changes = changes_after(shop, 0, user_ids=["u_day"])
    night = [c for c in changes if c.kind == "tag" and c.subject == "night-owl"]
    assert [(c.change, c.cause, c.rule_id) for c in night] == [("added", "event", "night")]
    assert set(night[0].cause_ids) == {"m1", "m2", "m3"}
    entered = [c for c in changes if c.kind == "audience"]
    assert [(c.subject, c.change) for c in entered] == [("night-owls", "entered")]
    assert _count(shop, "MATCH (:User {userId: 'u_day'})-[m:IN_AUDIENCE]->(:Audience) RETURN count(m)") == 1
    fresh = changes_after(shop, 0, user_ids=["u_fresh"], kinds=["profile"])
    assert [(c.subject, c.change) for c in fresh] == [("city", "changed")]
    cursors = [c.seq for c in changes_after(shop, 0, limit=10_000)]
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors) == latest_cursor(shop)


def test_an_audience_reads_its_own_tags_and_actions_not_those_of_the_users_it_names() -> None:
    root = parse_definition(
        {
            "and": [
                {"tag": {"tagId": "vip"}},
                {"not": {"or": [{"behavior": {"action": "bought", "brand": "B"}}, {"tag": {"tagId": "t2"}}]}},
                {"friends": {"atLeast": 2, "who": {"tag": {"tagId": "friend-tag"}}}},
                {"attribute": {"field": "city", "op": "eq", "value": "Wuhan"}},
            ]
        }
    )
    assert reads(root) == AudienceReads(
        frozenset({"vip", "t2"}), frozenset({ActionRead("bought", brand="B")})
    )


def test_a_behaviour_condition_on_a_brand_or_category_is_touched_only_by_events_on_it() -> None:
    facts = {
        "H1": ProductFacts(frozenset({"kasa"}), frozenset({"Home", "Home/Kitchen"})),
        "V1": ProductFacts(frozenset({"voltra"}), frozenset({"Vehicles", "Vehicles/E-bikes"})),
    }
    asked: list[list[str]] = []

    def describe(skus: Any) -> dict[str, ProductFacts]:
        asked.append(sorted(skus))
        return {s: facts[s] for s in skus if s in facts}

    touched = Touched(
        profiles={"u_id"},
        actions={"viewed": {"u_h": {"H1"}, "u_v": {"V1"}, "u_x": {"X9"}}, "clicked": {"u_c": {"V1"}}},
        tags={"vip": {"u_t"}},
        describe=describe,
    )

    def users(definition: dict[str, Any]) -> set[str]:
        return touched.users_for(reads(parse_definition(definition)))

    assert users({"behavior": {"action": "viewed", "sku": "V1"}}) == {"u_id", "u_v"}
    assert asked == []  # a sku is known without looking anything up
    # A product the graph does not describe (X9) may match anything: re-evaluated to be safe.
    assert users({"behavior": {"action": "viewed", "brand": "Kasa"}}) == {"u_id", "u_h", "u_x"}
    assert users({"behavior": {"action": "viewed", "category": "Vehicles"}}) == {"u_id", "u_v", "u_x"}
    assert users({"behavior": {"action": "clicked", "category": "Home"}}) == {"u_id"}
    liked = {"behavior": {"action": "liked", "brand": "Kasa"}}
    assert users({"or": [{"tag": {"tagId": "vip"}}, liked]}) == {"u_id", "u_t"}
    assert asked == [["H1", "V1", "X9"]]  # each product looked up once, whatever the audiences


def test_each_audience_is_refreshed_for_the_users_whose_changes_it_reads(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A fold re-evaluates an audience only for users whose changes it reads (graph/audiences/reads.py):
    behaviour actions, tags (also under a `not`) and identifies; each of these must still move members."""
    audiences = {
        "viewers-h1": {"behavior": {"action": "viewed", "sku": "H1", "minCount": 3}},  # 2 before
        "clickers-v1": {"behavior": {"action": "clicked", "sku": "V1"}},
        "in-wuhan": {"attribute": {"field": "city", "op": "eq", "value": "Wuhan"}},
        "no-night-owls": {"not": {"tag": {"tagId": "night-owl"}}},
        "kasa-fans": {"behavior": {"action": "viewed", "brand": "Kasa", "minCount": 6}},  # 4 before
        "vehicle-clickers": {"behavior": {"action": "clicked", "category": "Vehicles"}},
    }
    for audience_id, definition in audiences.items():
        save_audience(
            shop,
            audience_id=audience_id,
            name=audience_id,
            definition=definition,
            owner="t",
            purpose="analysis",
        )
    assert _count(
        shop,
        "MATCH (:User {userId: 'u_day'})-[:IN_AUDIENCE]->(a:Audience {audienceId: 'no-night-owls'}) "
        "RETURN count(a)",
    )
    journal = _journal(tmp_path, NIGHT_EVENTS)
    _worker(shop, journal, rules).fold_once()
    moved = {
        (c.user_id, c.subject, c.change)
        for c in changes_after(shop, 0, user_ids=["u_day", "u_fresh", "u_new"], kinds=["audience"])
    }
    assert moved == {
        ("u_day", "viewers-h1", "entered"),  # its views
        ("u_day", "no-night-owls", "exited"),  # the night-owl tag its night views earned
        ("u_fresh", "clickers-v1", "entered"),  # its click
        ("u_day", "kasa-fans", "entered"),  # its views of a Kasa product
        ("u_fresh", "vehicle-clickers", "entered"),  # its click on an e-bike: a subcategory of Vehicles
        ("u_fresh", "in-wuhan", "entered"),  # its identify
        ("u_fresh", "no-night-owls", "entered"),  # new: every audience judges it
    }


def test_a_crash_before_the_commit_leaves_nothing_and_a_refold_doubles_nothing(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = _journal(tmp_path, NIGHT_EVENTS[:3])
    worker = _worker(shop, journal, rules)
    views = "MATCH (:User {userId: 'u_day'})-[v:VIEWED]->(:Product {sku: 'H1'}) RETURN v.count"
    before = _count(shop, views)

    def crash(*args: Any, **kwargs: Any) -> range:
        raise RuntimeError("killed before the commit")

    monkeypatch.setattr(fold_module, "record_changes", crash)
    with pytest.raises(RuntimeError):
        fold(shop, journal.read(0, 10), log_id=journal.log_id, rules=rules)
    assert _count(shop, views) == before and fold_cursor(shop, journal.log_id) == 0
    assert latest_cursor(shop) == 0 and journal.outcome(1) is None
    monkeypatch.undo()

    worker.fold_once()
    assert _count(shop, views) == before + 2 and fold_cursor(shop, journal.log_id) == 3
    logged = latest_cursor(shop)
    assert logged > 0
    # Killed after the commit, before the outcomes reached the journal: the same entries again.
    again = fold(shop, journal.read(0, 10), log_id=journal.log_id, rules=rules)
    assert [o.detail for o in again.outcomes] == [{"replayed": True}] * 3
    assert _count(shop, views) == before + 2 and latest_cursor(shop) == logged
    # Without the cursor (a second log, or the same events sent again): idempotent all the same.
    fold(shop, journal.read(0, 10), log_id=None, rules=rules)
    assert _count(shop, views) == before + 2 and latest_cursor(shop) == logged


def test_a_poison_entry_is_rejected_alone(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = _journal(tmp_path, NIGHT_EVENTS[:3])
    real = worker_module.fold

    def poisoned(store: GraphStore, entries: Any, **kwargs: Any) -> Any:
        if any(e.envelope.message_id == "m2" for e in entries):
            raise ValueError("this entry breaks every batch it is in")
        return real(store, entries, **kwargs)

    monkeypatch.setattr(worker_module, "fold", poisoned)
    report = _worker(shop, journal, rules).fold_once()
    assert [o.status for o in report.outcomes] == ["folded", "rejected", "folded"]
    assert report.outcomes[1].detail["code"] == "FOLD_FAILED"
    assert fold_cursor(shop, journal.log_id) == 3


def test_forgetting_a_user_takes_their_changes(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
) -> None:
    journal = _journal(tmp_path, NIGHT_EVENTS[:3])
    _worker(shop, journal, rules).fold_once()
    assert changes_after(shop, 0, user_ids=["u_day"])
    report = forget_user(shop, user_id="u_day", key=suppression_key(SETTINGS), actor="test")
    assert report.removed["logged_changes"] > 0
    assert changes_after(shop, 0, user_ids=["u_day"]) == []
    # ... and their later events are refused, not folded.
    later = _journal(tmp_path / "later", [_track("m10", "u_day", "Product Viewed", NIGHT[0], sku="H2")])
    outcome = _worker(shop, later, rules).fold_once().outcomes[0]
    assert outcome.status == "rejected" and outcome.detail["code"] == "SUPPRESSED"


def test_cursors_are_unique_and_gap_free_under_concurrent_writers(store: GraphStore) -> None:
    def write(n: int) -> None:
        for i in range(10):
            record_changes(store, [NewChange(f"u{n}", "tag", f"t{i}", "added", "manual")] * 3)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cursors = [c.seq for c in changes_after(store, 0, limit=10_000)]
    assert cursors == list(range(1, 121)) and latest_cursor(store) == 120
    assert [c.seq for c in changes_after(store, 100, user_ids=["u1"])] == sorted(
        c.seq for c in changes_after(store, 100) if c.user_id == "u1"
    )


def test_the_worker_renews_its_tag_cache_before_a_fold_meets_it_expired(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
) -> None:
    journal = _journal(tmp_path, NIGHT_EVENTS[:2])
    worker = _worker(shop, journal, rules)
    worker.cache.ttl_s = 60.0
    worker.warm()
    before = dict(worker.cache.entries)
    assert len(before) > 3  # the data time, the taxonomy, the inputs and the rules' global values
    assert worker._warmed_at is not None
    worker._warmed_at -= 31.0  # past half the ttl: the next round starts a renewal beside the folds
    assert worker._round()
    assert worker._renewing is not None
    worker._renewing.join(60)
    after = worker.cache.entries
    assert set(before) <= set(after)  # (and what the round's fold computed)
    assert all(after[key][0] > before[key][0] for key in before)  # each entry lives longer now
    rule_values = [key for key in before if key[1] != "data_time"]  # the fold moved the data time
    assert [after[key][1] for key in rule_values] == [before[key][1] for key in rule_values]
    # Not due again until half the ttl has passed once more.
    renewal = worker._renewing
    worker._round()
    assert worker._renewing is renewal


def test_the_worker_reads_the_next_batch_while_one_folds_and_tops_it_up(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
) -> None:
    views = [_track(f"v{i}", "u_day", "Product Viewed", NIGHT[i % 3], sku="H1") for i in range(6)]
    journal = _journal(tmp_path, views[:4])
    worker = _worker(shop, journal, rules, batch=3)
    edge = "MATCH (:User {userId: 'u_day'})-[v:VIEWED]->(:Product {sku: 'H1'}) RETURN v.count"
    before = _count(shop, edge)

    first = worker.fold_once()
    assert [o.offset for o in first.outcomes] == [1, 2, 3]
    assert worker._ahead is not None and worker._ahead[0] == 3  # entry 4, read while 1-3 folded
    parsed = parse_batch(views[4:], received_at=datetime.now(UTC))
    journal.append([envelope for _, envelope in parsed.accepted])  # 5 and 6 arrive meanwhile
    second = worker.fold_once()
    assert [o.offset for o in second.outcomes] == [4, 5, 6]  # what was read ahead, topped up to the batch
    assert all(o.status == "folded" and o.detail["new"] for o in second.outcomes)
    assert _count(shop, edge) == before + 6 and fold_cursor(shop, journal.log_id) == 6
    assert worker.fold_once().outcomes == []  # the read-ahead of nothing is not kept


def test_outcomes_the_log_refuses_are_logged_and_the_folds_go_on(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A fold's outcomes are recorded beside the next fold: when the log refuses them, the entries stay
    folded (no outcome: a recordEvent waiting for one answers NOT_FOLDED_YET) and the next folds go on."""
    journal = _journal(
        tmp_path, [_track(f"o{i}", "u_day", "Product Viewed", NIGHT[0], sku="H2") for i in range(4)]
    )
    worker = _worker(shop, journal, rules, batch=2)
    real, calls = journal.record_outcomes, []

    def refused_once(outcomes: Any) -> None:
        calls.append(len(outcomes))
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        real(outcomes)

    journal.record_outcomes = refused_once  # type: ignore[method-assign]
    assert [o.offset for o in worker.fold_once().outcomes] == [1, 2]
    assert [o.offset for o in worker.fold_once().outcomes] == [3, 4]
    assert worker.fold_once().outcomes == []  # idle: the last outcomes settled
    assert calls == [2, 2] and fold_cursor(shop, journal.log_id) == 4
    assert journal.outcomes([1, 2, 3, 4]).keys() == {3, 4}
    assert "could not record a fold's outcomes" in caplog.text


def test_a_stopped_worker_has_its_last_outcomes_in_the_log(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The outcomes are recorded beside the next fold; a worker told to stop waits for the last ones (a slow
    log here) before its thread ends."""
    journal = _journal(
        tmp_path, [_track(f"s{i}", "u_day", "Product Viewed", NIGHT[0], sku="H2") for i in range(2)]
    )
    real = journal.record_outcomes

    def slow(outcomes: Any) -> None:
        time.sleep(0.5)
        real(outcomes)

    journal.record_outcomes = slow  # type: ignore[method-assign]
    worker = _worker(shop, journal, rules)
    thread, stop = worker.start()
    deadline = time.monotonic() + 30
    while worker.stats.batches == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=30)
    assert worker.stats.batches == 1 and not thread.is_alive()
    assert journal.outcomes([1, 2]).keys() == {1, 2}


def test_a_batch_read_ahead_is_dropped_when_the_fold_before_it_failed(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from neo4j.exceptions import ServiceUnavailable

    journal = _journal(
        tmp_path, [_track(f"w{i}", "u_day", "Product Viewed", NIGHT[0], sku="H2") for i in range(4)]
    )
    worker = _worker(shop, journal, rules, batch=2)
    real = worker_module.fold

    def unavailable(store: GraphStore, entries: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("Neo4j went away before the commit")

    monkeypatch.setattr(worker_module, "fold", unavailable)
    with pytest.raises(ServiceUnavailable):
        worker.fold_once()
    monkeypatch.setattr(worker_module, "fold", real)
    # The cursor did not move: entries 1-2 again, not the 3-4 read ahead.
    assert [o.offset for o in worker.fold_once().outcomes] == [1, 2]
    assert [o.offset for o in worker.fold_once().outcomes] == [3, 4]
    assert fold_cursor(shop, journal.log_id) == 4


def test_an_order_in_a_batch_of_views_re_runs_the_spend_rules_for_its_buyer_only(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _refreshes(monkeypatch)
    journal = _journal(
        tmp_path, [NIGHT_EVENTS[0], NIGHT_EVENTS[1], NIGHT_EVENTS[7]]
    )  # u_day views, u_new buys
    report = _worker(shop, journal, rules).fold_once()
    assert [o.status for o in report.outcomes] == ["folded"] * 3
    assert sorted((tuple(c["user_ids"]), frozenset(c["changed"])) for c in calls) == [
        (("u_day",), frozenset({"events"})),
        (("u_new",), frozenset(fold_module.CHANGES["order"])),
    ]


def test_a_rehearsal_runs_a_whole_fold_and_leaves_nothing(
    shop: GraphStore,  # noqa: F811
    rules: RuleSet,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    everything = "MATCH (n) OPTIONAL MATCH (n)-[r]->() RETURN count(DISTINCT n) * 1000000 + count(r)"
    before, cursor = _count(shop, everything), latest_cursor(shop)
    calls = _refreshes(monkeypatch)
    cache = TagCache()
    fold_module.rehearse(shop, rules=rules, suppression_key=suppression_key(SETTINGS), cache=cache)
    assert [tuple(c["user_ids"]) for c in calls] == [
        (fold_module.REHEARSAL_USER,)
    ]  # identified, viewed and bought: every rule
    assert _count(shop, everything) == before and latest_cursor(shop) == cursor
    assert not _count(shop, "MATCH (u:User {userId: $id}) RETURN count(u)", id=fold_module.REHEARSAL_USER)
    assert cache.entries == {}  # the worker's cache is read, never written

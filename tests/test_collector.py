"""The event collector over HTTP against the real Neo4j, as a tracking SDK and an attacker would call it:
POST /v1/batch keeps the good events of a batch and rejects the bad ones by index, answers once they are
durable, folds them within moments, applies a messageId once; keys and roles as for GraphQL; bodies over
the caps, bodies that are not JSON and events that are too big get clear errors, never a 500."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.api import collector as collector_module
from personagraph.api.policy import Role
from personagraph.graph.server.connection import ConnectionInfo
from tests.api_support import AnalysedGraph, GraphQL, Secured, as_role, one

AT = "2026-11-21T21:00:00Z"


@pytest.fixture(scope="module")
def app_client(graph: AnalysedGraph, neo4j_connection: ConnectionInfo, keys: Secured) -> Iterator[TestClient]:
    """A client that sends no key by itself; the app's lifespan (and its folding worker) runs throughout."""
    with keys.client(neo4j_connection, None) as test_client:
        yield test_client


def _sku(graph: AnalysedGraph, skip: int = 0) -> str:
    return str(
        one(graph, "MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku SKIP $n LIMIT 1", n=skip)["sku"]
    )


def _user(graph: AnalysedGraph, skip: int = 0) -> str:
    return str(one(graph, "MATCH (u:User) RETURN u.userId AS id ORDER BY id SKIP $n LIMIT 1", n=skip)["id"])


def _views(graph: AnalysedGraph, user: str, sku: str) -> int:
    found = one(
        graph,
        "OPTIONAL MATCH (:User {userId: $u})-[v:VIEWED]->(:Product {sku: $s}) "
        "RETURN coalesce(v.count, 0) AS n",
        u=user,
        s=sku,
    )
    return int(found["n"])


def _view(message_id: str, user: str, sku: str, **extra: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "type": "track",
        "event": "Product Viewed",
        "userId": user,
        "timestamp": AT,
        "properties": {"sku": sku},
        **extra,
    }


def _post(
    client: TestClient, keys: Secured, body: Any, role: str = "service", path: str = "/v1/batch"
) -> Any:
    return client.post(path, content=json.dumps(body), headers=keys.headers(role))


def _until(check: Any, timeout: float = 20.0) -> None:
    """Wait for the folding worker: ``check()`` true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not folded in time"
        time.sleep(0.05)


def test_a_batch_keeps_the_good_events_and_folds_them(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user, sku = _user(graph, 3), _sku(graph, 3)
    before = _views(graph, user, sku)
    batch = [
        _view("c-1", user, sku),
        _view("c-2", user, sku, timestamp="yesterday"),  # not a time
        {"type": "track", "event": "Product Viewed", "userId": user},  # no messageId
        "not an event",
        _view("c-3", user, sku, event="Teleported"),
        {**_view("c-4", user, sku), "properties": {"sku": sku, "blob": "x" * 40_000}},  # over 32 KB
        _view("c-5", user, sku, timestamp="2026-11-21T21:05:00Z"),
    ]
    answer = _post(app_client, keys, {"batch": batch})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3, 4, 5]
    assert all(r["reason"] for r in body["rejected"])
    assert "x" * 100 not in answer.text  # reasons never echo what was sent
    _until(lambda: _views(graph, user, sku) == before + 2)

    again = _post(app_client, keys, {"batch": [_view("c-1", user, sku), _view("c-5", user, sku)]}).json()
    assert again["accepted"] == 0 and again["duplicates"] == 2
    time.sleep(0.5)
    assert _views(graph, user, sku) == before + 2  # a messageId is applied once


def test_single_event_paths_and_the_graphql_batch(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user, sku = _user(graph, 4), _sku(graph, 4)
    before = _views(graph, user, sku)
    single = {k: v for k, v in _view("s-1", user, sku).items() if k != "type"}
    assert _post(app_client, keys, single, path="/v1/track").json()["accepted"] == 1
    gql = as_role(app_client, keys, "service")
    mutation = """mutation($e: [EventInput!]!) { recordEvents(events: $e) {
        accepted duplicates rejected { index reason } } }"""
    events = [
        {"userId": user, "kind": "VIEW", "at": "2026-11-21T22:00:00Z", "target": sku, "eventId": "g-1"},
        {
            "userId": user,
            "kind": "VIEW",
            "at": "2026-11-21T22:00:00Z",
            "target": "   ",
            "eventId": "g-2",
        },
        {"userId": user, "kind": "VIEW", "at": "2026-11-21T22:00:00Z", "target": sku, "eventId": "g-1"},
    ]
    done = gql.data(mutation, {"e": events})["recordEvents"]
    assert done["accepted"] == 1 and done["duplicates"] == 1
    assert [r["index"] for r in done["rejected"]] == [1]
    _until(lambda: _views(graph, user, sku) == before + 2)
    for role in ("marketer", "analyst"):
        assert as_role(app_client, keys, role).code(mutation, {"e": events[:1]}) == "FORBIDDEN"


@pytest.mark.parametrize("role", ["marketer", "analyst"])
def test_only_writers_may_send_events(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph, role: str
) -> None:
    answer = _post(app_client, keys, {"batch": [_view("r-1", _user(graph), _sku(graph))]}, role=role)
    assert answer.status_code == 403 and answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_no_key_and_a_wrong_key_are_refused(app_client: TestClient) -> None:
    assert app_client.post("/v1/batch", json={"batch": []}).status_code == 401
    wrong = app_client.post("/v1/batch", json={"batch": []}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"batch": {"a": 1}}', 400),
        (b'{"batch": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),  # nested past the JSON depth limit
        (b'{"batch": ["' + b"x" * (501 * 1024) + b'"]}', 413),  # over the 500 KB batch cap
    ],
)
def test_bad_bodies_get_clear_errors(app_client: TestClient, keys: Secured, body: bytes, status: int) -> None:
    answer = app_client.post("/v1/batch", content=body, headers=keys.headers(Role.SERVICE))
    assert answer.status_code == status, answer.text
    assert "Traceback" not in answer.text and answer.json()["errors"][0]["message"]


def test_a_batch_over_the_graphql_body_cap_is_still_taken(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    user, skus = _user(graph, 5), [_sku(graph, i) for i in range(5)]
    batch = [
        {**_view(f"big-{i}", user, skus[i % 5]), "properties": {"sku": skus[i % 5], "note": "y" * 600}}
        for i in range(300)
    ]
    payload = json.dumps({"batch": batch})
    assert 100_000 < len(payload) < 500 * 1024
    answer = app_client.post("/v1/batch", content=payload, headers=keys.headers(Role.SERVICE))
    assert answer.status_code == 200 and answer.json()["accepted"] == 300


def test_record_event_waits_for_its_fold(app_client: TestClient, keys: Secured, graph: AnalysedGraph) -> None:
    gql: GraphQL = as_role(app_client, keys, "service")
    user, sku = _user(graph, 6), _sku(graph, 6)
    before = _views(graph, user, sku)
    mutation = """mutation($e: EventInput!) { recordEvent(input: $e) { new eventKey } }"""
    event = {"userId": user, "kind": "VIEW", "at": AT, "target": sku}
    first = gql.data(mutation, {"e": event})["recordEvent"]
    assert first["new"] is True and _views(graph, user, sku) == before + 1  # folded before it answered
    again = gql.data(mutation, {"e": event})["recordEvent"]
    assert again == {"new": False, "eventKey": first["eventKey"]}  # the same content: once
    assert _views(graph, user, sku) == before + 1


def _fold_metrics(client: TestClient, keys: Secured) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in client.get("/metrics", headers=keys.headers("admin")).text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in ("persona_fold_seconds_count", 'persona_fold_entries_total{outcome="folded"}'):
            found[name] = float(value)
    return found


def test_folds_are_counted_and_timed_in_the_metrics(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph
) -> None:
    before = _fold_metrics(app_client, keys)
    gql: GraphQL = as_role(app_client, keys, "service")
    user, sku = _user(graph, 7), _sku(graph, 7)
    event = {"userId": user, "kind": "CLICK", "at": AT, "target": sku}
    gql.data("mutation($e: EventInput!) { recordEvent(input: $e) { new } }", {"e": event})
    # the worker counts a fold before it wakes the waiting recordEvent, but recordEvent also looks up
    # outcomes in the log on its own, and may see them a moment before the count: a short grace period
    folded, folds = 'persona_fold_entries_total{outcome="folded"}', "persona_fold_seconds_count"
    deadline = time.monotonic() + 5.0
    while True:
        after = _fold_metrics(app_client, keys)
        if after.get(folds, 0) >= before.get(folds, 0) + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert after[folds] >= before.get(folds, 0) + 1
    assert after[folded] >= before.get(folded, 0) + 1


def test_record_events_waiting_together_are_answered_when_their_fold_is_done(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """recordEvents waiting at once share one look-up of their outcomes, and the folding worker in this
    process wakes it when it has recorded them: with the periodic look-up an hour apart, they are still
    answered (without the wake-up they would run out of time: NOT_FOLDED_YET)."""
    monkeypatch.setattr(collector_module, "WAIT_STEP_S", 3600.0)
    monkeypatch.setattr(app_client.app.state.collector, "wait_s", 15.0)  # type: ignore[attr-defined]
    gql: GraphQL = as_role(app_client, keys, "service")
    mutation = """mutation($e: EventInput!) { recordEvent(input: $e) { new eventKey } }"""
    pairs = [(_user(graph, 10 + i), _sku(graph, 10 + i)) for i in range(5)]
    before = [_views(graph, user, sku) for user, sku in pairs]

    def record(pair: tuple[str, str]) -> Any:
        event = {"userId": pair[0], "kind": "VIEW", "at": AT, "target": pair[1]}
        return gql.data(mutation, {"e": event})["recordEvent"]

    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        answers = list(pool.map(record, pairs))
    assert [a["new"] for a in answers] == [True] * len(pairs)
    assert len({a["eventKey"] for a in answers}) == len(pairs)
    assert [_views(graph, user, sku) for user, sku in pairs] == [n + 1 for n in before]


def test_a_busy_event_log_is_a_503_never_a_500(
    app_client: TestClient, keys: Secured, graph: AnalysedGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append that cannot take the log's write lock in time (32 clients fsyncing at once, a full disk)
    keeps nothing and says so: 503 with Retry-After, and UNAVAILABLE in GraphQL; the client sends again."""

    def busy(envelopes: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(app_client.app.state.collector.journal, "append", busy)  # type: ignore[attr-defined]
    answer = _post(app_client, keys, {"batch": [_view("busy-1", _user(graph), _sku(graph))]})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    mutation = "mutation($e: EventInput!) { recordEvent(input: $e) { new } }"
    event = {"userId": _user(graph), "kind": "VIEW", "at": AT, "target": _sku(graph)}
    assert as_role(app_client, keys, "service").code(mutation, {"e": event}) == "UNAVAILABLE"

"""The API while Neo4j restarts under it: UNAVAILABLE (and /readyz 503) while it is down, recovery
without restarting the app, and every acknowledged recordEvent in the graph exactly once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset
from tests.api_support import secured

EVENT = """mutation($e: EventInput!) { recordEvent(input: $e) { new eventKey } }"""
USERS = [f"f{i}" for i in range(5)]
SKUS = ["S1", "S2", "S3"]


@pytest.fixture
def shop(store: GraphStore, tmp_path: Path) -> GraphStore:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "users.csv").write_text("user_id,city\n" + "".join(f"{u},Xi'an\n" for u in USERS))
    (folder / "products.csv").write_text("sku,price\n" + "".join(f"{s},10\n" for s in SKUS))
    load_dataset(store, folder, options=LoadOptions(rejects_dir=tmp_path / "r"))
    return store


def _post(client: TestClient, i: int) -> dict[str, Any]:
    variables = {
        "e": {
            "userId": USERS[i % len(USERS)],
            "kind": "VIEW",
            "at": f"2025-03-01T10:{i % 60:02d}:00Z",
            "target": SKUS[i % len(SKUS)],
            "eventId": f"ev-{i}",
        }
    }
    response = client.post("/graphql", json={"query": EVENT, "variables": variables})
    assert response.status_code == 200, response.text  # never a 500, down or not
    body: dict[str, Any] = response.json()
    return body


def test_neo4j_restart_under_record_event_load(
    shop: GraphStore, local_server: LocalNeo4j, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    acknowledged: set[str] = set()
    codes: list[str] = []
    stop = threading.Event()
    sent = 0
    keys = secured(tmp_path / "keys", api_rate_limit=0)  # tests/test_api_limits.py covers the limit
    with keys.client(neo4j_connection, "service") as client:

        def writer() -> None:
            nonlocal sent
            while not stop.is_set():
                body = _post(client, sent)
                if body.get("errors"):
                    codes.append(body["errors"][0]["extensions"]["code"])
                else:
                    acknowledged.add(f"ev-{sent}")
                sent += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            _wait(lambda: len(acknowledged) >= 20, "events acknowledged before the restart")
            local_server.stop()
            _wait(lambda: "UNAVAILABLE" in codes, "UNAVAILABLE while Neo4j is down")
            assert client.get("/readyz").status_code == 503
            before_restart = len(acknowledged)
            local_server.start()
            _wait(lambda: client.get("/readyz").status_code == 200, "readiness after the restart")
            _wait(lambda: len(acknowledged) >= before_restart + 20, "events acknowledged after the restart")
        finally:
            stop.set()
            thread.join(timeout=120)
    assert set(codes) <= {"UNAVAILABLE"}, codes
    records, _, _ = shop.driver.execute_query(
        "MATCH (:User)-[v:VIEWED]->(:Product) RETURN sum(v.count) AS n, "
        "reduce(keys = [], v IN collect(v) | keys + v.eventKeys) AS keys"
    )
    stored = records[0]["keys"]
    assert len(stored) == len(set(stored)) == records[0]["n"]  # nothing folded in twice
    assert acknowledged <= set(stored)  # every success the client saw is in the graph
    assert set(stored) <= {f"ev-{i}" for i in range(sent)}


def _wait(condition: Any, what: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)

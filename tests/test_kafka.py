"""Events through Kafka against a real broker and the real Neo4j: the collector produces accepted events keyed
by user; `persona consume` workers in one group share a topic's partitions, and with one killed mid-run every
event is still stored exactly once; a poison message goes to the dead-letter topic with its reason without
holding up the others; events another system put on the topic are folded the same way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from personagraph.graph.events.kafka import (
    CODE_HEADER,
    ORIGIN_HEADER,
    REASON_HEADER,
    KafkaFolder,
    dead_letter_topic,
    ensure_topics,
    headers_of,
)
from personagraph.graph.privacy.forget import suppression_key
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from tests.api_support import secured
from tests.kafka_support import read_topic, unique
from tests.test_tags import shop  # noqa: F401 (fixture)

USERS = ["u_owl", "u_day", "u_thrift", "u_churn", "u_hub", "u_star", "u_loyal", "u_vip", "u_new"]  # shop's
SKUS = ["V1", "V2", "V3", "V4", "H1", "H2", "H3", "H4"]
PERSONA = [sys.executable, "-m", "personagraph.cli.main"]


def _view(message_id: str, user: str, sku: str, at: str = "2026-11-21T21:00:00Z") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "type": "track",
        "event": "Product Viewed",
        "userId": user,
        "timestamp": at,
        "properties": {"sku": sku},
    }


def _views(count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        _view(f"{prefix}-{i}", USERS[i % len(USERS)], SKUS[(i // len(USERS)) % len(SKUS)])
        for i in range(count)
    ]


def _produce(bootstrap: str, topic: str, events: list[Any]) -> None:
    """As another system would: a plain producer, keyed by user, JSON values (bytes given as they are)."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for event in events:
        value = event if isinstance(event, bytes) else json.dumps(event).encode()
        key = event.get("userId", "x") if isinstance(event, dict) else "x"
        producer.produce(topic, value, str(key).encode())
    assert producer.flush(30) == 0


def _folded_keys(store: GraphStore, prefix: str) -> list[str]:
    """Every behaviour event key the graph holds that starts with ``prefix``, once per time it is held."""
    records, _, _ = store.driver.execute_query(
        "MATCH (:User)-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() UNWIND r.eventKeys AS k "
        "WITH k WHERE k STARTS WITH $p RETURN collect(k) AS keys",
        p=prefix,
    )
    return list(records[0]["keys"])


def _views_counted(store: GraphStore) -> int:
    records, _, _ = store.driver.execute_query("MATCH (:User)-[r:VIEWED]->() RETURN sum(r.count) AS n")
    return int(records[0]["n"])


def _settings(bootstrap: str, topic: str, group: str, **extra: Any) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        kafka_topic=topic,
        kafka_group=group,
        kafka_partitions=4,
        kafka_poll_s=0.2,
        secret_key="kafka-test-secret-key-0123456789",
        **extra,
    )


def _committed(bootstrap: str, topic: str, group: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in found}


def _drain(folder: KafkaFolder, done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "not folded in time"
        folder.consume_once()


# -- (a) the collector -------------------------------------------------------------------------------


def test_the_collector_produces_accepted_events_keyed_by_user(
    kafka_bootstrap: str, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    topic = unique("collected")
    ensure_topics(kafka_bootstrap, topic, 4)
    keys = secured(
        tmp_path / "api",
        api_rate_limit=0,
        kafka_bootstrap=kafka_bootstrap,
        kafka_topic=topic,
        events_fold_in_api=False,
        webhooks_in_api=False,
    )
    batch = [_view("c-1", "u_a", "V1"), {"type": "track", "userId": "u_b"}, _view("c-2", "u_b", "V2")]
    batch[2].pop("timestamp")  # its time is when the collector received it
    with keys.client(neo4j_connection, "service") as client:
        before = time.time()
        answer = client.post("/v1/batch", content=json.dumps({"batch": batch}))
        single = client.post(
            "/v1/identify", content=json.dumps({"messageId": "c-3", "userId": "u_a", "traits": {}})
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    assert [r["index"] for r in answer.json()["rejected"]] == [1]
    assert single.status_code == 200 and single.json()["accepted"] == 1
    messages = read_topic(kafka_bootstrap, topic, 3)
    by_id = {json.loads(m.value() or b"")["messageId"]: m for m in messages}
    assert sorted(by_id) == ["c-1", "c-2", "c-3"]
    assert {i: by_id[i].key() for i in by_id} == {"c-1": b"u_a", "c-2": b"u_b", "c-3": b"u_a"}
    assert json.loads(by_id["c-1"].value() or b"") == batch[0]  # the event as it was sent
    assert json.loads(by_id["c-3"].value() or b"")["type"] == "identify"  # the path's type
    assert by_id["c-1"].partition() == by_id["c-3"].partition()  # one user, one partition: in order
    stamp = by_id["c-2"].timestamp()[1] / 1000
    assert before - 1 <= stamp <= time.time() + 1  # the receipt time, the time of an event that gives none


# -- (b) two consumers, one killed -------------------------------------------------------------------


def _consumer(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*PERSONA, "consume"], env=env, stdout=out, stderr=subprocess.STDOUT)


def test_two_consumers_one_killed_mid_run_store_every_event_once(
    kafka_bootstrap: str,
    shop: GraphStore,  # noqa: F811
    neo4j_env: dict[str, str],
    tmp_path: Path,
) -> None:
    topic, group = unique("events"), unique("fold")
    ensure_topics(kafka_bootstrap, topic, 4)
    env = {
        **os.environ,
        **neo4j_env,
        "PERSONA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PERSONA_KAFKA_TOPIC": topic,
        "PERSONA_KAFKA_GROUP": group,
        "PERSONA_KAFKA_SESSION_TIMEOUT_S": "6",  # the broker's least: the killed one's partitions move sooner
        "PERSONA_EVENTS_FOLD_BATCH": "15",  # many small folds: the kill lands between two
        "PERSONA_SECRET_KEY": "kafka-test-secret-key-0123456789",
        "PERSONA_DATA_DIR": str(tmp_path),
    }
    first, second = _views(300, "k1"), _views(300, "k2")
    counted_before = _views_counted(shop)
    _produce(kafka_bootstrap, topic, first)
    victim = _consumer(env, tmp_path / "victim.log")
    survivor = _consumer(env, tmp_path / "survivor.log")
    try:
        deadline = time.monotonic() + 60
        while len(_folded_keys(shop, "k1-")) < 30:  # folding has begun
            assert time.monotonic() < deadline, (tmp_path / "victim.log").read_text()
            assert victim.poll() is None and survivor.poll() is None
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        _produce(kafka_bootstrap, topic, second)  # the rest arrives while only one consumer is left
        deadline = time.monotonic() + 60
        while len(set(_folded_keys(shop, "k"))) < 600:
            assert time.monotonic() < deadline, (tmp_path / "survivor.log").read_text()
            assert survivor.poll() is None, (tmp_path / "survivor.log").read_text()
            time.sleep(0.1)
        survivor.send_signal(signal.SIGINT)  # Ctrl-C: it leaves the group cleanly
        assert survivor.wait(30) == 0, (tmp_path / "survivor.log").read_text()
    finally:
        for process in (victim, survivor):
            if process.poll() is None:
                process.kill()
                process.wait()
    keys = _folded_keys(shop, "k")
    assert len(keys) == 600 and set(keys) == {e["messageId"] for e in first + second}  # each once
    assert _views_counted(shop) - counted_before == 600  # the edges' counts too
    assert "folded" in (tmp_path / "survivor.log").read_text()
    committed = _committed(kafka_bootstrap, topic, group, 4)
    assert sum(committed.values()) == 600  # everything committed, after its fold


# -- (c) poison ----------------------------------------------------------------------------------------


def test_a_poison_message_goes_to_the_dead_letter_topic_with_its_reason(
    kafka_bootstrap: str,
    shop: GraphStore,  # noqa: F811
) -> None:
    topic, group = unique("poison"), unique("fold")
    settings = _settings(kafka_bootstrap, topic, group)
    ensure_topics(kafka_bootstrap, topic, 1)  # one partition: the poison sits between good events
    no_id = {"type": "track", "event": "Product Viewed", "userId": "u_owl", "properties": {"sku": "V1"}}
    _produce(
        kafka_bootstrap,
        topic,
        [
            _view("p-1", "u_owl", "V1"),
            b"{not json",
            no_id,
            _view("p-2", "u_nobody", "V1"),
            _view("p-3", "u_day", "V2"),
        ],
    )
    folder = KafkaFolder(shop, settings, suppression_key=suppression_key(settings))
    try:
        _drain(folder, lambda: len(_folded_keys(shop, "p-")) == 2)
        # A second consumer of the group finds nothing left: every offset was committed, the poison's too.
        assert _committed(kafka_bootstrap, topic, group, 1) == {0: 5}
    finally:
        folder.close()
    assert sorted(_folded_keys(shop, "p-")) == ["p-1", "p-3"]
    dead = read_topic(kafka_bootstrap, dead_letter_topic(topic), 3)
    letters = {headers_of(m)[CODE_HEADER].decode(): m for m in dead}
    assert sorted(letters) == ["BAD_USER_INPUT", "NOT_FOUND", "NOT_JSON"]
    assert letters["NOT_JSON"].value() == b"{not json"  # the original bytes, to send again once mended
    assert b"messageId" in headers_of(letters["BAD_USER_INPUT"])[REASON_HEADER]
    assert json.loads(letters["NOT_FOUND"].value() or b"")["messageId"] == "p-2"
    assert b"u_nobody" in headers_of(letters["NOT_FOUND"])[REASON_HEADER]
    assert headers_of(letters["NOT_JSON"])[ORIGIN_HEADER] == f"{topic}/0/1".encode()
    assert letters["NOT_FOUND"].key() == b"u_nobody"


# -- (d) another system's events ----------------------------------------------------------------------


def test_events_another_system_put_on_the_topic_are_folded(
    kafka_bootstrap: str,
    shop: GraphStore,  # noqa: F811
    neo4j_env: dict[str, str],
    tmp_path: Path,
) -> None:
    topic, group = unique("external"), unique("fold")
    ensure_topics(kafka_bootstrap, topic, 2)
    order = {
        "messageId": "x-2",
        "type": "track",
        "event": "Order Completed",
        "userId": "u_new",
        "properties": {"order_id": "x-order", "products": [{"sku": "H1", "quantity": 2, "price": 180.0}]},
    }
    identify = {"messageId": "x-3", "type": "identify", "userId": "u_new", "traits": {"city": "Wuhan"}}
    sent = time.time()
    _produce(kafka_bootstrap, topic, [_view("x-1", "u_new", "H2"), order, identify])
    env = {
        **os.environ,
        **neo4j_env,
        "PERSONA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PERSONA_KAFKA_TOPIC": topic,
        "PERSONA_KAFKA_GROUP": group,
        "PERSONA_SECRET_KEY": "kafka-test-secret-key-0123456789",
        "PERSONA_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [*PERSONA, "consume", "--once"], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "folded 3, dead-lettered 0" in done.stderr
    assert _folded_keys(shop, "x-") == ["x-1"]
    found = _order_and_city(shop)
    assert found is not None and found["city"] == "Wuhan"
    assert sent - 5 <= found["at"] <= time.time() + 1  # no timestamp: when it was put on the topic
    # One user: one partition, committed past its three messages (the other's has no commit: -1001).
    assert sorted(_committed(kafka_bootstrap, topic, group, 2).values()) == [-1001, 3]


def _order_and_city(store: GraphStore) -> dict[str, Any] | None:
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User {userId: 'u_new'})-[:PLACED]->(o:Order {orderId: 'x-order'}) "
        "RETURN u.city AS city, o.orderedAt.epochMillis / 1000.0 AS at"
    )
    if not records or records[0]["city"] is None:
        return None
    return dict(records[0])

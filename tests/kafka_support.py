"""The Kafka the tests use: PERSONA_KAFKA_BOOTSTRAP when the environment gives one, else a local
single-node Kafka (graph/server/kafka_local.py: Maven Central jars, KRaft) started once for the session,
as the local Neo4j is; plus small helpers to read a topic back."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from confluent_kafka import Consumer, Message

from personagraph.graph.server.kafka_local import LocalKafka, free_port
from personagraph.graph.settings import Settings


@contextmanager
def kafka_for_tests(data_dir: Path) -> Iterator[str]:
    """The bootstrap of the Kafka to test against, for the ``with`` block."""
    given = os.environ.get("PERSONA_KAFKA_BOOTSTRAP", "").strip()
    if given:
        yield given
        return
    settings = Settings()
    local = LocalKafka(
        version=settings.kafka_version,
        cache_dir=settings.kafka_cache_dir,
        data_dir=data_dir,
        port=free_port(),
        partitions=4,
        java_home=settings.java_home,
    )
    local.start()
    try:
        yield local.bootstrap
    finally:
        local.stop()


def unique(name: str) -> str:
    """A topic or group name no other test uses (the session's broker is shared)."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def read_topic(bootstrap: str, topic: str, count: int, timeout_s: float = 30.0) -> list[Message]:
    """The first ``count`` messages of ``topic`` (every partition, from the start), within ``timeout_s``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique("test-reader"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    found: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < count and time.monotonic() < deadline:
            for message in consumer.consume(count - len(found), 0.5):
                if message.error() is None:
                    found.append(message)
    finally:
        consumer.close()
    return found

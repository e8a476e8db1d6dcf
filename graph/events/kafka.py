"""Events through Kafka: the collector's producer, and the consumer that folds a topic into the graph.

With ``PERSONA_KAFKA_BOOTSTRAP`` set, the collector hands each accepted event to :class:`EventProducer`:
one message on ``PERSONA_KAFKA_TOPIC``, keyed by its user (so one user's events stay in one partition, in
order), the value the event as it was sent (the tracking shape graph/events/envelope.py validates, compact
JSON), the message's timestamp the time the collector received it. It answers once the broker acknowledged
every one (``acks=all``, an idempotent producer).

:class:`KafkaFolder` (``persona consume``) is one member of the consumer group ``PERSONA_KAFKA_GROUP``:
several share the topic's partitions. Each round polls a micro-batch, validates each message again (it may
come from any system that writes the same shape: nothing assumes the collector wrote it; the message's
timestamp is its receipt time), folds the valid ones through graph/events/fold.py ``fold`` in one Neo4j
transaction, sends each message that cannot be folded to the dead-letter topic ``<topic>.dlq`` (the
original key and bytes, the reason in headers) and only then commits the batch's offsets. The offsets are
the cursor: a consumer killed before its commit leaves the batch to be folded again by whoever takes its
partitions, and folding is idempotent (an event's key is its messageId, an edge takes each key once; an
order's id merges), so every event is stored once: exactly-once effect, at-least-once delivery. Dead
letters are at least once too: a kill between the dead letter and the commit sends it again.

A message is dead-lettered when it is not JSON (``code`` ``NOT_JSON``), when it fails validation
(``BAD_USER_INPUT``, the reason naming the field), when the fold rejects it (``NOT_FOUND`` for a user,
product or channel the graph lacks, ``SUPPRESSED``...) or when it alone breaks its batch (``FOLD_FAILED``).
Neo4j away: the batch is kept and folded again with backoff (graph/rounds.py), nothing is committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import (
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka import (
    KafkaError as ClientError,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from personagraph.graph.errors import KafkaError
from personagraph.graph.events.envelope import EnvelopeError, parse_event
from personagraph.graph.events.fold import FoldReport, fold
from personagraph.graph.events.journal import Entry
from personagraph.graph.rounds import RETRYABLE, Rounds
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import TagCache
from personagraph.graph.tags.rule_file import RuleSet

log = logging.getLogger(__name__)
DLQ_SUFFIX = ".dlq"
# Dead letters' headers: why, and where the message was (its key and value are the original's).
REASON_HEADER = "persona-reason"
CODE_HEADER = "persona-code"
ORIGIN_HEADER = "persona-origin"  # topic/partition/offset


def dead_letter_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def ensure_topics(bootstrap: str, topic: str, partitions: int, timeout_s: float = 30.0) -> None:
    """Create ``topic`` with ``partitions`` partitions and its dead-letter topic, unless they exist (the
    replication factor is the broker's default)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = [NewTopic(topic, partitions), NewTopic(dead_letter_topic(topic), 1)]
    for name, future in admin.create_topics(wanted, request_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as error:
            if error.args[0].code() != ClientError.TOPIC_ALREADY_EXISTS:
                raise KafkaError(f"could not create the topic {name}: {error.args[0].str()}") from None


def _producer(bootstrap: str, client_id: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "acks": "all",
            "enable.idempotence": True,  # retries never duplicate nor reorder a partition's messages
            "linger.ms": 2,  # concurrent requests' events share a produce request
            "compression.type": "lz4",
        }
    )


class EventProducer:
    """Produces the collector's accepted events; ``send`` returns once the broker acknowledged them all.
    Thread-safe: the collector calls it from its thread pool."""

    def __init__(self, bootstrap: str, topic: str, *, ack_timeout_s: float = 30.0) -> None:
        self.topic = topic
        self.ack_timeout_s = ack_timeout_s
        self._producer = _producer(bootstrap, "persona-collector")

    @classmethod
    def from_settings(cls, settings: Settings) -> EventProducer:
        if settings.kafka_bootstrap is None:
            raise KafkaError("PERSONA_KAFKA_BOOTSTRAP is not set")
        return cls(settings.kafka_bootstrap, settings.kafka_topic, ack_timeout_s=settings.kafka_ack_timeout_s)

    def send(self, events: Sequence[tuple[str, Any]], *, received_at: datetime) -> None:
        """Produce each ``(user id, event as sent)`` and wait for the acknowledgements; KafkaError when one
        was refused or did not come within the timeout (then some may have been stored: sending them all
        again folds each once)."""
        if not events:
            return
        pending = [len(events)]
        failures: list[str] = []
        done = threading.Event()

        def delivered(error: ClientError | None, _message: Message) -> None:
            if error is not None:
                failures.append(error.str())
            pending[0] -= 1
            if pending[0] == 0:
                done.set()

        stamp = int(received_at.timestamp() * 1000)
        for key, event in events:
            self._produce(key.encode(), orjson.dumps(event), stamp, delivered)
        deadline = time.monotonic() + self.ack_timeout_s
        while not done.is_set():  # whichever thread polls serves every thread's callbacks
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KafkaError(
                    f"Kafka did not acknowledge {pending[0]} events within {self.ack_timeout_s:g} s"
                )
            self._producer.poll(min(remaining, 0.05))
        if failures:
            raise KafkaError(f"Kafka refused {len(failures)} events: {failures[0]}")

    def _produce(self, key: bytes, value: bytes, stamp: int, callback: Any) -> None:
        while True:
            try:
                self._producer.produce(self.topic, value, key, on_delivery=callback, timestamp=stamp)
                return
            except BufferError:  # the local queue is full: let it drain
                self._producer.poll(0.05)

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)


@dataclass(frozen=True)
class DeadLetter:
    """A message that cannot be folded, and why."""

    message: Message
    code: str
    reason: str


@dataclass
class ConsumerStats:
    """What the consumer did since it started."""

    folded: int = 0
    rejected: int = 0  # dead-lettered, for whatever reason
    batches: int = 0
    commit_failures: int = 0


@dataclass
class _Batch:
    """One poll's messages: the valid ones as log entries (their place in the batch the offset) and the
    dead letters found on the way."""

    messages: list[Message]
    entries: list[Entry] = field(default_factory=list)
    by_offset: dict[int, Message] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)


class KafkaFolder:
    """One member of the consumer group folding the topic into the graph: ``consume_once`` for one
    round, ``run`` until told to stop (it leaves the group then)."""

    def __init__(
        self,
        store: GraphStore,
        settings: Settings,
        *,
        rules: RuleSet | str | Path | None = None,
        cache: TagCache | None = None,
        suppression_key: bytes | None = None,
    ) -> None:
        if settings.kafka_bootstrap is None:
            raise KafkaError("PERSONA_KAFKA_BOOTSTRAP is not set")
        self.store = store
        self.settings = settings
        self.topic = settings.kafka_topic
        self.rules = rules
        self.cache = cache if cache is not None else TagCache()
        self.suppression_key = suppression_key
        self.stats = ConsumerStats()
        self._pending: list[Message] = []  # a batch polled but not folded (Neo4j was away): folded next
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": settings.kafka_group,
                "client.id": "persona-consume",
                "enable.auto.commit": False,  # offsets are committed after the fold's transaction only
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(settings.kafka_session_timeout_s * 1000),
                "heartbeat.interval.ms": max(100, int(settings.kafka_session_timeout_s * 1000 / 5)),
                "enable.partition.eof": False,
            }
        )
        self._dead_letters = _producer(settings.kafka_bootstrap, "persona-consume-dlq")
        self._consumer.subscribe([self.topic])
        self._closed = False

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, backing off while Neo4j is away; then leave the group."""
        rounds = Rounds("consuming", self.settings.kafka_poll_s)
        try:
            rounds.run(self._round, stop)
        finally:
            self.close()

    def _round(self) -> bool:
        self.consume_once()
        return True  # an idle round already waited in the poll

    def consume_once(self) -> FoldReport:
        """Poll a micro-batch (or take the one a failed round left), fold it, dead-letter what cannot be
        folded, commit its offsets. Neo4j errors propagate with the batch kept for the next round."""
        messages = self._pending or self._poll()
        self._pending = messages
        if not messages:
            return FoldReport()
        batch = _parse(messages)
        report = self._fold(batch)
        self._send_dead_letters(batch.dead)
        self._commit(messages)
        self._pending = []
        self.stats.folded += report.folded
        self.stats.rejected += len(batch.dead)
        self.stats.batches += 1
        return report

    def consume_waiting(self, timeout_s: float = 60.0) -> None:
        """Fold what is waiting, then return: once this member has partitions, until a poll finds nothing
        (or ``timeout_s`` passed)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assigned = bool(self._consumer.assignment())
            batches = self.stats.batches
            self.consume_once()
            if assigned and self.stats.batches == batches:
                return

    def _poll(self) -> list[Message]:
        polled = self._consumer.consume(self.settings.events_fold_batch, self.settings.kafka_poll_s)
        messages = []
        for message in polled:
            error = message.error()
            if error is None:
                messages.append(message)
            elif error.fatal():
                raise KafkaError(f"the consumer failed: {error.str()}")
            else:
                log.warning("consumer: %s", error.str())
        return messages

    def _fold(self, batch: _Batch) -> FoldReport:
        try:
            report = self._fold_entries(batch.entries)
        except RETRYABLE:
            raise
        except Exception as error:
            log.warning(
                "a batch of %d events failed (%s); folding them one by one", len(batch.entries), error
            )
            report = FoldReport()
            for entry in batch.entries:
                try:
                    one = self._fold_entries([entry])
                except RETRYABLE:
                    raise
                except Exception as failure:
                    log.error("message %s cannot be folded: %s", entry.envelope.message_id, failure)
                    reason = f"could not be folded: {type(failure).__name__}"
                    batch.dead.append(DeadLetter(batch.by_offset[entry.offset], "FOLD_FAILED", reason))
                    continue
                report.outcomes += one.outcomes
                report.users += one.users
        for outcome in report.outcomes:
            if outcome.status == "rejected":
                code = str(outcome.detail.get("code", "REJECTED"))
                reason = str(outcome.detail.get("reason", ""))
                batch.dead.append(DeadLetter(batch.by_offset[outcome.offset], code, reason))
        return report

    def _fold_entries(self, entries: Sequence[Entry]) -> FoldReport:
        if not entries:
            return FoldReport()
        return fold(
            self.store,
            entries,
            log_id=None,  # the offsets committed to Kafka are the cursor
            rules=self.rules,
            cache=self.cache,
            suppression_key=self.suppression_key,
            timezone=self.settings.timezone,
        )

    def _send_dead_letters(self, dead: Iterable[DeadLetter]) -> None:
        topic, failures = dead_letter_topic(self.topic), []

        def delivered(error: ClientError | None, _message: Message) -> None:
            if error is not None:
                failures.append(error.str())

        count = 0
        for letter in dead:
            message = letter.message
            origin = f"{message.topic()}/{message.partition()}/{message.offset()}"
            log.info("dead letter %s: %s %s", origin, letter.code, letter.reason)
            headers: list[tuple[str, str | bytes | None]] = [
                (REASON_HEADER, letter.reason.encode()),
                (CODE_HEADER, letter.code.encode()),
                (ORIGIN_HEADER, origin.encode()),
                *headers_of(message).items(),
            ]
            self._dead_letters.produce(
                topic, message.value(), message.key(), headers=headers, on_delivery=delivered
            )
            count += 1
        if count and (self._dead_letters.flush(self.settings.kafka_ack_timeout_s) or failures):
            # Not committed: the batch is folded again (changing nothing) and its dead letters sent again.
            raise KafkaError(f"the dead-letter topic {topic} did not take {count} messages: {failures[:1]}")

    def _commit(self, messages: Iterable[Message]) -> None:
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            where = (message.topic() or "", message.partition() or 0)
            last[where] = max(last.get(where, -1), message.offset() or 0)
        offsets = [
            TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()
        ]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            # The partitions went to another member meanwhile: it folds them again from the last commit.
            self.stats.commit_failures += 1
            log.warning("could not commit offsets (%s); the batch will be folded again", error.args[0].str())

    def close(self) -> None:
        """Leave the group (its partitions go to the others at once) and flush the dead letters."""
        if self._closed:
            return
        self._closed = True
        self._dead_letters.flush(self.settings.kafka_ack_timeout_s)
        self._consumer.close()


def _parse(messages: Sequence[Message]) -> _Batch:
    batch = _Batch(list(messages))
    for place, message in enumerate(messages, start=1):
        try:
            raw = orjson.loads(message.value() or b"")
        except orjson.JSONDecodeError as error:
            batch.dead.append(DeadLetter(message, "NOT_JSON", f"the message is not JSON: {error}"))
            continue
        kind, stamp = message.timestamp()
        received = datetime.fromtimestamp(stamp / 1000, UTC) if kind and stamp > 0 else datetime.now(UTC)
        try:
            envelope = parse_event(raw, received_at=received)
        except EnvelopeError as error:
            batch.dead.append(DeadLetter(message, "BAD_USER_INPUT", str(error)))
            continue
        batch.entries.append(Entry(place, envelope))
        batch.by_offset[place] = message
    return batch


def headers_of(message: Message) -> dict[str, bytes]:
    """A message's headers by name (the last of each name), as bytes."""
    found = message.headers() or []
    pairs = found.items() if isinstance(found, dict) else found
    return {name: value.encode() if isinstance(value, str) else value or b"" for name, value in pairs}


__all__ = [
    "CODE_HEADER",
    "ORIGIN_HEADER",
    "REASON_HEADER",
    "ConsumerStats",
    "DeadLetter",
    "EventProducer",
    "KafkaFolder",
    "dead_letter_topic",
    "ensure_topics",
    "headers_of",
]

"""A thin handle over the driver: catalog statements in, typed values out, reads routed to readers."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar

from neo4j import (
    READ_ACCESS,
    Driver,
    EagerResult,
    ManagedTransaction,
    Query,
    Record,
    RoutingControl,
    unit_of_work,
)
from neo4j.exceptions import DriverError, Neo4jError

from personagraph.graph.catalog import cypher
from personagraph.graph.errors import QueryTimeoutError

log = logging.getLogger(__name__)
T = TypeVar("T")

# A read that fails with an error the driver calls retryable (a cluster member going away, a database
# not yet available) runs again, up to this many times in all, after a short, growing, jittered pause.
READ_ATTEMPTS = 4
READ_RETRY_PAUSE_S = 0.05

# What Neo4j 5 answers when a transaction outlives its timeout (the server's, or the one we send) ...
TIMED_OUT = frozenset(
    {
        "Neo.ClientError.Transaction.TransactionTimedOut",
        "Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration",
    }
)
# ... and when it was terminated while waiting for a lock: by the timeout, an operator or a shutdown
# (a timeout when it ran at least as long as ours).
TERMINATED = frozenset(
    {
        "Neo.ClientError.Transaction.LockClientStopped",
        "Neo.TransientError.Transaction.LockClientStopped",
        "Neo.ClientError.Transaction.Terminated",
        "Neo.TransientError.Transaction.Terminated",
    }
)


class CompiledStatement(Protocol):
    """A statement built at run time from allow-listed fragments (graph/audiences/compile.py)."""

    @property
    def text(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class WriteCounts:
    """What a write changed, summed over its batches."""

    nodes_created: int = 0
    nodes_deleted: int = 0
    relationships_created: int = 0
    relationships_deleted: int = 0
    properties_set: int = 0

    def __add__(self, other: WriteCounts) -> WriteCounts:
        return WriteCounts(
            self.nodes_created + other.nodes_created,
            self.nodes_deleted + other.nodes_deleted,
            self.relationships_created + other.relationships_created,
            self.relationships_deleted + other.relationships_deleted,
            self.properties_set + other.properties_set,
        )


class GraphStore:
    """Runs catalog statements against one database of one driver."""

    def __init__(self, driver: Driver, database: str, *, timeout_s: float | None = None) -> None:
        self.driver = driver
        self.database = database
        self.timeout_s = timeout_s  # server-side transaction timeout for read/write (None: the server's)

    def _query(self, name: str) -> Query:
        return Query(cypher(name), timeout=self.timeout_s)

    def read(self, name: str, /, **params: Any) -> list[Record]:
        """Run a catalog statement as a read (routable to cluster secondaries; see ``_read``)."""
        return self._read(name, self._query(name), params)

    def read_statement(self, statement: CompiledStatement, /, **params: Any) -> list[Record]:
        """Run a compiled statement (an audience's) like a catalog read: routable to cluster secondaries,
        with this store's timeout and its QueryTimeoutError (``statement.name`` in logs). ``params`` are
        added to the statement's own (paging values)."""
        query = Query(statement.text, timeout=self.timeout_s)
        return self._read(statement.name, query, {**statement.params, **params})

    def _read(self, name: str, query: Query, params: dict[str, Any]) -> list[Record]:
        """One statement in an auto-commit read transaction: RUN and PULL in one round trip, where a
        managed transaction (``execute_query``) adds BEGIN and COMMIT, about a third more of the driver's
        CPU and wall time on a short read (bench/results/api.md). It shares ``execute_query``'s bookmark
        manager, so a read still sees every write this driver made before it (causal consistency in a
        cluster). Reads change nothing, so a retryable failure (``is_retryable``) runs it again, as a
        managed transaction would."""
        with self._timed(name):
            for attempt in range(1, READ_ATTEMPTS + 1):
                try:
                    with self.driver.session(
                        database=self.database,
                        default_access_mode=READ_ACCESS,
                        bookmark_manager=self.driver.execute_query_bookmark_manager,
                    ) as session:
                        return list(session.run(query, params))
                except (DriverError, Neo4jError) as exc:
                    if attempt == READ_ATTEMPTS or not exc.is_retryable():
                        raise
                    pause = READ_RETRY_PAUSE_S * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
                    log.info("%s: %s; reading again in %.2f s", name, exc, pause)
                    time.sleep(pause)
        raise AssertionError("unreachable")  # the loop returns or raises

    def write(self, name: str, /, **params: Any) -> WriteCounts:
        """Run a catalog statement in a managed write transaction (transient errors retry)."""
        _, summary, _ = self._execute(name, params, RoutingControl.WRITE)
        c = summary.counters
        return WriteCounts(
            c.nodes_created,
            c.nodes_deleted,
            c.relationships_created,
            c.relationships_deleted,
            c.properties_set,
        )

    def write_returning(self, name: str, /, **params: Any) -> list[Record]:
        """A write transaction whose statement returns rows (e.g. what it removed)."""
        records, _, _ = self._execute(name, params, RoutingControl.WRITE)
        return records

    def _execute(
        self, name: str, params: dict[str, Any], routing: RoutingControl, *, query: Query | None = None
    ) -> EagerResult:
        """One managed transaction of the catalog statement ``name`` (or of ``query``, which ``name``
        then labels); a statement Neo4j stopped at the timeout becomes QueryTimeoutError."""
        with self._timed(name):
            return self.driver.execute_query(
                query or self._query(name), params, database_=self.database, routing_=routing
            )

    def write_transaction(self, name: str, work: Callable[[StoreTransaction], T], /) -> T:
        """Run ``work`` in one managed write transaction (all or nothing; transient errors retry it
        whole): several catalog statements, each seeing the ones before, under this store's timeout
        and its QueryTimeoutError (``name`` labels the transaction in logs)."""

        def body(tx: ManagedTransaction) -> T:
            return work(StoreTransaction(tx))

        transaction = unit_of_work(timeout=self.timeout_s)(body) if self.timeout_s else body
        with self._timed(name), self.driver.session(database=self.database) as session:
            return session.execute_write(transaction)

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        """A transaction Neo4j stopped at the timeout becomes QueryTimeoutError naming ``name``."""
        started = time.monotonic()
        try:
            yield
        except Neo4jError as exc:
            ran_out = self.timeout_s is not None and time.monotonic() - started >= self.timeout_s
            if exc.code in TIMED_OUT or (exc.code in TERMINATED and ran_out):
                raise QueryTimeoutError(name, self.timeout_s) from exc
            raise

    def write_rows(self, name: str, rows: Sequence[Mapping[str, Any]]) -> WriteCounts:
        """One `UNWIND $rows` batch in one write transaction."""
        if not rows:
            return WriteCounts()
        return self.write(name, rows=list(rows))

    def write_batches(
        self, name: str, rows: Iterable[Mapping[str, Any]], *, batch_size: int, **params: Any
    ) -> WriteCounts:
        """Write ``rows`` in fixed-size batches, one transaction each; ``params`` go with every batch."""
        total = WriteCounts()
        for batch in batched(rows, batch_size):
            total = total + self.write(name, rows=list(batch), **params)
        return total

    def write_columns(
        self, name: str, columns: Mapping[str, Sequence[Any]], *, batch_size: int, **params: Any
    ) -> WriteCounts:
        """Write equal-length columns in slices, one transaction each: lists of numbers encode far
        faster than lists of maps, which matters for analytics write-back of every user."""
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns differ in length: {sorted(lengths)}")
        total = WriteCounts()
        for lo in range(0, next(iter(lengths), 0), batch_size):
            chunk = {key: list(values[lo : lo + batch_size]) for key, values in columns.items()}
            total = total + self.write(name, **chunk, **params)
        return total

    def in_transaction(self, name: str, work: Callable[[GraphStore], T], /) -> T:
        """Run ``work`` with a store whose every read and write goes through one managed write transaction
        (all or nothing; transient errors retry ``work`` whole): code written against GraphStore, such as
        a tag refresh, then commits together with the statements around it."""
        return self.write_transaction(name, lambda tx: work(TransactionStore(self, tx)))

    def run_autocommit(self, name: str, /, **params: Any) -> None:
        """Statements that manage their own transactions (CALL ... IN TRANSACTIONS, schema)."""
        with self.driver.session(database=self.database) as session:
            session.run(Query(cypher(name)), params).consume()

    def run_text(self, text: str) -> None:
        """Run one statement of a catalog file that holds several (schema migrations)."""
        with self.driver.session(database=self.database) as session:
            session.run(Query(text)).consume()


class StoreTransaction:
    """Catalog statements by name inside one GraphStore.write_transaction."""

    def __init__(self, tx: ManagedTransaction) -> None:
        self._tx = tx

    def rows(self, name: str, /, **params: Any) -> list[Record]:
        """Every row the statement returns."""
        return list(self._tx.run(cypher(name), params))

    def single(self, name: str, /, **params: Any) -> dict[str, Any]:
        """The one row the statement returns, as a dict (ResultError unless exactly one)."""
        return self._tx.run(cypher(name), params).single(strict=True).data()

    def run(self, name: str, /, **params: Any) -> None:
        """A statement whose rows, if any, are not wanted."""
        self._tx.run(cypher(name), params).consume()

    def eager(self, text: str, params: dict[str, Any]) -> EagerResult:
        """Any statement's rows, summary and keys, as the driver's execute_query gives them."""
        result = self._tx.run(text, params)
        keys = list(result.keys())
        records = list(result)
        return EagerResult(records, result.consume(), keys)


class TransactionStore(GraphStore):
    """A GraphStore bound to one open transaction (GraphStore.in_transaction): every statement runs in it
    and sees the ones before; nothing is committed until the transaction is."""

    def __init__(self, outer: GraphStore, tx: StoreTransaction) -> None:
        super().__init__(outer.driver, outer.database, timeout_s=outer.timeout_s)
        self._tx = tx

    def _execute(
        self, name: str, params: dict[str, Any], routing: RoutingControl, *, query: Query | None = None
    ) -> EagerResult:
        text = query.text if query is not None else cypher(name)
        return self._tx.eager(text, params)

    def _read(self, name: str, query: Query, params: dict[str, Any]) -> list[Record]:
        return self._tx.eager(query.text, params).records  # in the transaction, seeing its writes

    def write_transaction(self, name: str, work: Callable[[StoreTransaction], T], /) -> T:
        return work(self._tx)  # already inside one: the work joins it

    def run_autocommit(self, name: str, /, **params: Any) -> None:
        raise RuntimeError(f"{name}: statements that manage their own transactions cannot run inside one")

    def run_text(self, text: str) -> None:
        raise RuntimeError("schema statements cannot run inside a transaction")


def batched(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch

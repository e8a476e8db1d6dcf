"""Prometheus metrics: HTTP requests, GraphQL operations and the time spent in graph/ calls (Neo4j).

Each app gets its own registry, so several apps in one process (tests) never clash, and `/metrics`
shows only this app's series.

With several worker processes (`persona serve --workers N`), each worker counts in its own memory, so
`/metrics` answered by one worker showed that worker's share only. `persona serve` then runs the
Prometheus client's multiprocess mode (``multiprocess_dir``): ``PROMETHEUS_MULTIPROC_DIR`` names a
fresh folder, emptied at start, where every worker keeps its values in files, and `/metrics` adds up
all workers' files (``MultiProcessCollector``), whichever worker answers. Gauges say how workers'
values combine (``multiprocess_mode``); a worker that stops cleanly removes its live gauge values.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_folder() -> Path | None:
    """The multiprocess mode's folder, when this process runs in that mode."""
    folder = os.environ.get(MULTIPROC_ENV)
    return Path(folder) if folder else None


@contextmanager
def multiprocess_dir(workers: int) -> Iterator[Path | None]:
    """Around `persona serve`: with more than one worker, the multiprocess mode in a fresh folder.

    ``PROMETHEUS_MULTIPROC_DIR`` if given (emptied of a previous run's files), else a new temporary
    folder, set in the environment the workers inherit and removed afterwards. One worker keeps the
    ordinary in-memory values (a given ``PROMETHEUS_MULTIPROC_DIR`` is emptied all the same).
    """
    given = multiprocess_folder()
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        for stale in given.glob("*.db"):
            stale.unlink()
        yield given
        return
    if workers <= 1:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="persona-metrics-"))
    os.environ[MULTIPROC_ENV] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "persona_http_requests_total",
            "HTTP requests by route, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "persona_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.operations = Counter(
            "persona_graphql_operations_total",
            "GraphQL operations by type and outcome (ok, or the first error code).",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.fast_path = Counter(
            "persona_graphql_fast_path_total",
            "Operations the fast path (api/fast_path.py) answered, or handed back to the usual path.",
            ["outcome"],
            registry=self.registry,
        )
        self.graph_seconds = Histogram(
            "persona_neo4j_call_seconds",
            "Time in one graph/ call (Neo4j round trips included), by function.",
            ["function"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fold_seconds = Histogram(
            "persona_fold_seconds",
            "One fold of the event log into the graph (graph/events/worker.py), from reading its batch to "
            "its outcomes in the log.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.folded_entries = Counter(
            "persona_fold_entries_total",
            "Event log entries folded, by outcome (folded or rejected).",
            ["outcome"],
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "persona_http_requests_in_progress",
            "HTTP requests being answered now (all workers).",
            registry=self.registry,
            multiprocess_mode="livesum",  # summed over the live workers
        )

    def render(self) -> Response:
        """This app's series; in multiprocess mode every worker's, added up from their files."""
        folder = multiprocess_folder()
        if folder is None:
            return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined, path=str(folder))  # type: ignore[no-untyped-call]
        return Response(generate_latest(combined), media_type=CONTENT_TYPE)

    def folded(self, folded: int, rejected: int, seconds: float) -> None:
        """One fold done by this process's folding worker (FoldingWorker ``on_fold``)."""
        self.fold_seconds.observe(seconds)
        self.folded_entries.labels("folded").inc(folded)
        self.folded_entries.labels("rejected").inc(rejected)

    def process_exit(self) -> None:
        """A worker stopping: its live gauge values leave the sums (counters and histograms stay)."""
        folder = multiprocess_folder()
        if folder is not None:
            multiprocess.mark_process_dead(os.getpid(), path=str(folder))  # type: ignore[no-untyped-call]

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI middleware (Starlette's BaseHTTPMiddleware adds a task group and streams per
        request): count and time every HTTP request under its route template (bounded labels)."""

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500
            self.in_progress.inc()

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                self.in_progress.dec()
                route = _route(scope)
                self.requests.labels(route, scope["method"], str(status)).inc()
                self.request_seconds.labels(route).observe(time.perf_counter() - started)

        return timed


def _route(scope: Scope) -> str:
    """The matched route's template; routers mounted with a prefix (GraphQL) report an empty path,
    so their request path stands in. Unmatched paths share one label, so scans cannot add series."""
    route = scope.get("route")
    if route is None:
        return "unmatched"
    return str(getattr(route, "path", "") or scope["path"])


class OperationMetrics(SchemaExtension):
    """Counts each GraphQL operation by type (query, mutation) and outcome (ok or its first error code).

    Runs after ErrorCodes has coded the errors (it is listed first, so it wraps ErrorCodes).
    """

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        metrics = getattr(ctx.context, "metrics", None)
        if metrics is None:
            return
        errors = list(ctx.pre_execution_errors or []) + list(getattr(ctx.result, "errors", None) or [])
        outcome = str((errors[0].extensions or {}).get("code", "error")) if errors else "ok"
        try:
            kind = ctx.operation_type.value
        except RuntimeError:  # the document did not parse or names no operation
            kind = "unknown"
        metrics.operations.labels(kind, outcome).inc()

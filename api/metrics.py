"""Prometheus metrics: HTTP requests, GraphQL operations and the time spent in graph/ calls (Neo4j).

Each app gets its own registry, so several apps in one process (tests) never clash, and `/metrics`
shows only this app's series.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


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
        self.graph_seconds = Histogram(
            "persona_neo4j_call_seconds",
            "Time in one graph/ call (Neo4j round trips included), by function.",
            ["function"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Pure ASGI middleware (Starlette's BaseHTTPMiddleware adds a task group and streams per
        request): count and time every HTTP request under its route template (bounded labels)."""

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
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

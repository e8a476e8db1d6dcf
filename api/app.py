"""FastAPI application: the driver lives for the app's lifespan; GraphQL at /graphql; health, readiness
and Prometheus metrics beside it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from personagraph.api.auth import Authenticator, AuthMiddleware, principal_of, rate_limit_key
from personagraph.api.change_feed import ChangeFeed
from personagraph.api.collector import COLLECTOR_PATHS, EventCollector, install_collector
from personagraph.api.connection_auth import ConnectionAuth
from personagraph.api.console import mount_console
from personagraph.api.context import Context
from personagraph.api.counts import CountBudget
from personagraph.api.fast_entry import FastEntry
from personagraph.api.fast_path import FastPaths
from personagraph.api.http_limits import install_http_limits
from personagraph.api.ide import mount_assets
from personagraph.api.metrics import Metrics
from personagraph.api.policy import Role
from personagraph.api.production import graphql_ide
from personagraph.api.router import PersonaGraphQLRouter
from personagraph.api.schema import build_schema
from personagraph.api.shared_state import SqliteBuckets
from personagraph.api.sse import install_sse
from personagraph.graph.audit import AuditLog
from personagraph.graph.events.envelope import MAX_BATCH_BYTES
from personagraph.graph.events.journal import FoldLock, open_journal
from personagraph.graph.events.kafka import EventProducer
from personagraph.graph.events.worker import FoldingWorker
from personagraph.graph.privacy.forget import suppression_key
from personagraph.graph.privacy.k_anonymity import Disclosure
from personagraph.graph.server.connection import (
    ConnectionInfo,
    DriverTuning,
    open_driver,
    ping,
    resolve_connection,
)
from personagraph.graph.settings import Settings, get_settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import TagCache
from personagraph.graph.webhooks.dispatcher import run_in_background


def create_app(
    settings: Settings | None = None,
    connection: ConnectionInfo | None = None,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    install_access_log_filter()
    metrics = Metrics()
    tag_cache = TagCache()  # one per process: rule cut-offs are reused across recordEvent calls
    authenticator = authenticator or Authenticator(settings)
    disclosure = Disclosure.from_settings(settings)
    # The limits' buckets, in the file every worker process of this server shares (api/shared_state.py).
    limited = settings.api_rate_limit or settings.api_auth_failure_limit or settings.privacy_count_budget
    buckets = SqliteBuckets(settings.api_state_file) if limited else None
    count_budget = (
        CountBudget(settings.privacy_count_budget, buckets=buckets) if settings.privacy_count_budget else None
    )
    audit = AuditLog(settings.audit_log_path)
    forgotten_key = suppression_key(settings)
    # Websockets, which AuthMiddleware (HTTP only) never sees: the same keys and per-IP failure budget.
    connection_auth = ConnectionAuth(authenticator, settings.api_auth_failure_limit, buckets)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        info = connection or resolve_connection(settings)
        driver = open_driver(
            info, wait_s=settings.neo4j_connect_timeout_s, tuning=DriverTuning.for_api(settings)
        )
        app.state.store = GraphStore(driver, info.database, timeout_s=settings.api_query_timeout_s)
        app.state.change_feed = ChangeFeed.from_settings(app.state.store, settings)  # for subscriptions
        app.state.change_feed.start()
        journal = open_journal(settings)
        # With Kafka, the collector's paths produce to the topic (graph/events/kafka.py); the log stays for
        # GraphQL's recordEvent(s), which answer their fold.
        producer = EventProducer.from_settings(settings) if settings.kafka_bootstrap else None
        app.state.collector = EventCollector(
            journal,
            settings.events_record_wait_s,
            available=lambda: ping(driver, info.database),
            producer=producer,
        )
        folding = None
        if settings.events_fold_in_api:
            # Every worker process starts one; the log's lock lets one fold at a time (the others take over
            # when it dies). Its store has no query timeout: a fold of a big batch may take a while.
            worker = FoldingWorker(
                GraphStore(driver, info.database),
                journal,
                settings,
                cache=tag_cache,
                suppression_key=forgotten_key,
                lock=FoldLock(settings.event_log_file),
                on_outcomes=app.state.collector.folded,  # its recordEvents need not wait for the next look
                on_fold=metrics.folded,
            )
            app.state.folding_worker = worker
            folding = worker.start()
        # One dispatcher per machine (a file lock) sends the change log to webhooks (graph/webhooks/).
        webhooks = GraphStore(driver, info.database)
        stop_webhooks = run_in_background(webhooks, settings) if settings.webhooks_in_api else None
        try:
            yield
        finally:
            await app.state.change_feed.stop()
            if stop_webhooks is not None:
                stop_webhooks()
            if folding is not None:
                thread, stop = folding
                stop.set()
                thread.join(timeout=30)
            journal.close()
            if producer is not None:
                producer.close()
            driver.close()
            metrics.process_exit()

    async def get_context(request: HTTPConnection) -> Context:
        # AuthMiddleware lets no HTTP operation through without a principal; the GraphiQL page (static
        # HTML) is served without one, and AccessControl refuses any operation that has none. A websocket
        # gets its principal at connection_init (PersonaGraphQLRouter.on_ws_connect).
        principal = principal_of(request.scope)
        return Context(
            store=request.app.state.store,
            metrics=metrics,
            tag_cache=tag_cache,
            principal=principal,
            disclosure=disclosure,
            audit=audit,
            suppression_key=forgotten_key,
            count_budget=count_budget,
            collector=request.app.state.collector,
            changes=request.app.state.change_feed,
            settings=settings,
        )

    app = FastAPI(title="personagraph", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    schema = build_schema(settings)
    router = PersonaGraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide=graphql_ide(settings),
        fast_paths=FastPaths(schema._schema, settings.api_max_cost) if settings.api_fast_path else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),  # not the legacy graphql-ws
        connection_auth=connection_auth,
        max_subscriptions_per_connection=None,  # our caps, coded RATE_LIMITED (api/change_feed.py)
        connection_init_wait_timeout=timedelta(seconds=10),
        allowed_origins=settings.api_cors_origins,  # browsers' websockets from the origins CORS allows
    )
    app.include_router(router, prefix="/graphql")
    install_sse(app, schema, get_context, connection_auth)  # POST /graphql/stream
    install_collector(app, audit)
    if graphql_ide(settings) is not None:
        mount_assets(app)  # GraphiQL's page files, served from this package (api/ide.py)
    mount_console(app)  # the web console's page and files (api/console.py)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """The process is up (says nothing about Neo4j: see /readyz)."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready to serve: Neo4j answers a query now. 503 while it does not."""
        store: GraphStore = request.app.state.store
        if await run_in_threadpool(ping, store.driver, store.database):
            return JSONResponse({"status": "ready", "neo4j": "up"})
        return JSONResponse({"status": "unavailable", "neo4j": "down"}, status_code=503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        """Prometheus metrics (no personal data), for the admin and service roles (the scraper's key)."""
        principal = principal_of(request.scope)
        if principal is None or principal.role not in (Role.ADMIN, Role.SERVICE):
            error = {"message": "metrics need an admin or service key", "extensions": {"code": "FORBIDDEN"}}
            return JSONResponse({"errors": [error]}, status_code=403)
        return metrics.render()

    # Outermost first: metrics (counts every answer), CORS (answers preflights, which carry no credentials,
    # and adds its headers to refusals too), auth (401s, 429s for IPs refused too often), rate limit per
    # key, body cap, JSON depth cap, then the fast path's entry (POSTs it has a plan for, before routing).
    if router.fast_paths is not None:
        app.add_middleware(FastEntry, router=router, context_getter=get_context)
    install_http_limits(
        app,
        settings,
        key=rate_limit_key,
        buckets=buckets,
        body_caps=dict.fromkeys(COLLECTOR_PATHS, MAX_BATCH_BYTES),
    )
    app.add_middleware(
        AuthMiddleware,
        authenticator=authenticator,
        graphiql=graphql_ide(settings) is not None,
        failure_limit=settings.api_auth_failure_limit,
        buckets=buckets,
    )
    install_cors(app, settings)
    app.add_middleware(_Wrap, wrap=metrics.middleware)
    return app


def install_cors(app: FastAPI, settings: Settings) -> None:
    """CORS for the origins in ``PERSONA_API_CORS_ORIGINS`` (none: no CORS headers at all, the default).

    Browsers send a preflight ``OPTIONS`` without credentials before a cross-origin POST with a key; it
    is answered here, before authentication. Credentials are bearer tokens in ``Authorization`` (or
    ``X-API-Key``), never cookies, so ``Access-Control-Allow-Credentials`` is not sent.
    """
    if not settings.api_cors_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.api_cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["authorization", "x-api-key", "content-type", "accept"],
        allow_credentials=False,
        expose_headers=["retry-after"],  # 429s say when to come back
        max_age=600,
    )


class NoQueryString(logging.Filter):
    """uvicorn's access log line with the path only: a GET's query string is the whole GraphQL query
    and its variables (ids, definitions, values), which have no place in a log anyone may read."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path?query, http version, status).
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def install_access_log_filter() -> None:
    """Strip query strings from uvicorn's access log in this process (once; `persona serve`, a bare
    `uvicorn api.app:create_app --factory` and each worker all create the app)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, NoQueryString) for f in access.filters):
        access.addFilter(NoQueryString())


class _Wrap:
    """Adapts a function that wraps an ASGI app to Starlette's middleware protocol."""

    def __init__(self, app: ASGIApp, wrap: Callable[[ASGIApp], ASGIApp]) -> None:
        self.wrapped = wrap(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.wrapped(scope, receive, send)

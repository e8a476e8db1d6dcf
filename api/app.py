"""FastAPI application: the driver lives for the app's lifespan, GraphQL at /graphql."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from api.context import Context
from api.http import PersonaGraphQLRouter
from api.schema import schema
from graph.connection import ConnectionInfo, open_driver, resolve_connection
from graph.settings import Settings, get_settings
from graph.store import GraphStore


def create_app(settings: Settings | None = None, connection: ConnectionInfo | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        info = connection or resolve_connection(settings)
        driver = open_driver(info, wait_s=settings.neo4j_connect_timeout_s)
        app.state.store = GraphStore(driver, info.database)
        try:
            yield
        finally:
            driver.close()

    async def get_context(request: Request) -> Context:
        return Context(store=request.app.state.store)

    app = FastAPI(title="personagraph", lifespan=lifespan)
    app.include_router(PersonaGraphQLRouter(schema, context_getter=get_context), prefix="/graphql")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

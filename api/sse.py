"""Subscriptions over server-sent events: graphql-sse's "distinct connections" mode, for front-ends and
proxies that would rather not hold a websocket (https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md).

``POST /graphql/stream`` with a JSON body ``{query, variables, operationName}`` (one subscription per
request) answers ``text/event-stream``: an ``event: next`` per result (its ``data`` the result's JSON,
errors coded as everywhere), then ``event: complete``; a comment every 15 s keeps proxies from closing
an idle stream. The request went through the HTTP middleware like any other (api/auth.py: credentials,
the per-IP failure budget, the per-key rate limit, the body cap); the subscription runs through the
schema's ``subscribe`` with the same context, extensions and checks as over a websocket, and its
credentials are checked again while it runs (api/connection_auth.py). A client resumes after the last
``cursor`` it saw by sending it as the subscription's ``after`` on a new request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response, StreamingResponse
from strawberry.http import process_result
from strawberry.http.streaming import SSETransport, merge_stream_with_heartbeat
from strawberry.types import ExecutionResult
from strawberry.utils.aio import aclosing

from personagraph.api.connection_auth import ConnectionAuth
from personagraph.api.context import Context
from personagraph.api.errors import QuietSchema

STREAM_PATH = "/graphql/stream"
SSE = SSETransport()


def install_sse(
    app: FastAPI,
    schema: QuietSchema,
    context_getter: Callable[[HTTPConnection], Awaitable[Context]],
    connection_auth: ConnectionAuth,
) -> None:
    """``POST /graphql/stream``: one subscription per request, answered as server-sent events."""

    @app.post(STREAM_PATH, include_in_schema=False)
    async def stream(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            query, variables, operation_name = _operation(body)
        except (ValueError, TypeError) as exc:
            return _bad_request(str(exc))
        context = await context_getter(request)
        context.request = request
        context.reauthenticate = connection_auth.recheck(request.scope, None)

        async def events() -> AsyncGenerator[str, None]:
            source = await schema.subscribe(
                query, variable_values=variables, context_value=context, operation_name=operation_name
            )
            async with aclosing(source):
                async for result in source:
                    yield _next(result)
            yield SSE.encode_complete()

        merged = merge_stream_with_heartbeat(
            events,
            lambda: SSE.heartbeat_message(json.dumps),
            SSE.heartbeat_interval,
            send_initial_heartbeat=False,
        )
        return StreamingResponse(merged(), headers=dict(SSE.headers), media_type="text/event-stream")


def _operation(body: Any) -> tuple[str, dict[str, Any] | None, str | None]:
    """The query, variables and operation name of a request body; ValueError naming what is wrong."""
    if not isinstance(body, dict):
        raise ValueError("The request must be a JSON object: {query, variables, operationName}")
    query, variables, name = body.get("query"), body.get("variables"), body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query: a GraphQL subscription document is required")
    if variables is not None and not isinstance(variables, dict):
        raise ValueError("variables: must be a JSON object")
    if name is not None and not isinstance(name, str):
        raise ValueError("operationName: must be a string")
    return query, variables, name


def _next(result: ExecutionResult) -> str:
    return SSE.encode_next(process_result(result), lambda data: json.dumps(data, separators=(",", ":")))


def _bad_request(message: str) -> Response:
    error = {"message": message, "extensions": {"code": "BAD_REQUEST"}}
    return JSONResponse({"errors": [error]}, status_code=400)

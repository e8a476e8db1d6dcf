"""POST /graphql for documents the fast path has a plan for, answered before FastAPI's routing (issue 17).

api/fast_path.py answers hot read shapes without graphql-core's per-field execution; through the router
each of those requests still paid for FastAPI's routing and dependency injection and Strawberry's request
handling, about a sixth of a cross-sell request's CPU (bench/results/api.md). This middleware sits inside
every other one (metrics, CORS, authentication, the rate limit, the body and JSON depth caps), so all of
them apply as before, and answers here only a request that is plainly an ordinary GraphQL POST:

- ``Content-Type: application/json`` (UTF-8), an ``Accept`` the router can answer, a JSON object body
  with a string ``query`` (or a persisted query's hash, api/persisted.py) and well-typed
  ``operationName``, ``variables`` and ``extensions``;
- an authenticated caller whose (document, operation, role) the fast path has a plan for
  (``FastPaths.plan``: made only after the usual path answered it without an error).

Anything else, and any request the fast path hands back (an exception), goes on to the router
unchanged: the body is replayed, and the router is told not to try the fast path again
(``TRIED``), so it answers through Strawberry, errors and all. The answer is the router's for the same
request: status 200, ``{"data": ...}``, the negotiated media type with ``charset=utf-8``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http.parse_content_type import parse_content_type

from personagraph.api.auth import principal_of
from personagraph.api.http_limits import replay
from personagraph.api.persisted import PersistedQueryError
from personagraph.api.router import (
    APPLICATION_JSON,
    TRIED,
    PersonaGraphQLRouter,
    is_utf8,
    negotiate_media_type,
)


class _Route:
    """What the metrics middleware labels a request with (``scope["route"]``): the router's path."""

    def __init__(self, path: str) -> None:
        self.path = path


class FastEntry:
    """Answers POSTs to ``path`` that the fast path can, before routing; hands the rest on."""

    def __init__(
        self,
        app: ASGIApp,
        router: PersonaGraphQLRouter,
        context_getter: Callable[[HTTPConnection], Awaitable[Any]],
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.router = router
        self.context_getter = context_getter
        self.path = path
        self.route = _Route(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or self.router.fast_paths is None
        ):
            await self.app(scope, receive, send)
            return
        message = await receive()  # JsonDepthLimit, outside, hands on the whole body in one message
        answer = await self._answer(scope, message)
        if answer is None:
            await self.app(scope, replay([message], receive), send)
            return
        body, media_type = answer
        scope["route"] = self.route
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", f"{media_type}; charset=utf-8".encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, message: Message) -> tuple[bytes, str] | None:
        """The response body and media type, or None for the router to answer."""
        if message["type"] != "http.request" or message.get("more_body", False):
            return None
        principal = principal_of(scope)
        if principal is None:
            return None
        content_type = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        media_type = negotiate_media_type(accept)
        if media_type is None or content_type is None:
            return None
        kind, params = parse_content_type(content_type)
        if kind.lower() != APPLICATION_JSON or not is_utf8(params):
            return None
        try:
            request = orjson.loads(message.get("body", b""))
        except orjson.JSONDecodeError:
            return None
        if not isinstance(request, dict):
            return None
        query, operation_name = request.get("query"), request.get("operationName")
        variables, extensions = request.get("variables"), request.get("extensions")
        if (
            not isinstance(query, str | None)
            or not isinstance(operation_name, str | None)
            or not isinstance(variables, dict | None)
            or not isinstance(extensions, dict | None)
        ):
            return None
        try:
            query = self.router.persisted.resolve(query, extensions)
        except PersistedQueryError:
            return None
        fast_paths = self.router.fast_paths
        assert fast_paths is not None  # checked in __call__
        compiled = fast_paths.plan(query, operation_name, principal.role)
        if compiled is None:
            return None  # the router answers, and may learn a plan from its answer
        context = await self.context_getter(HTTPConnection(scope))
        scope.setdefault("state", {})[TRIED] = True  # from here on, the router does not try again
        data = await fast_paths.answer(compiled, context, variables)
        return None if data is None else (self.router.encode_json({"data": data}), media_type)

"""HTTP limits (ASGI middleware, ``install_http_limits``), applied before GraphQL sees a request; each
refusal is a GraphQL-shaped JSON error (``errors[0].extensions.code``) with an HTTP status:

- ``BodySizeLimit``: bodies over ``PERSONA_API_MAX_BODY_BYTES`` get 413 before the app reads them;
- ``JsonDepthLimit``: JSON (the body, GET's ``variables`` and ``extensions``) nested more than
  ``MAX_JSON_DEPTH`` levels gets 400 before it is parsed (Python's json module recurses: 2 kB of
  brackets ended in RecursionError, an HTTP 500);
- ``RateLimit``: ``PERSONA_API_RATE_LIMIT`` requests per minute per client on /graphql, a token
  bucket per key (api/rate_limiter.py) in the state file every worker process of the server shares
  (api/shared_state.py), so N workers still allow the rate once. Over it: 429 with ``Retry-After``.
  The budget is the caller's API key or token subject (api/auth.py ``rate_limit_key``), the client IP
  (``client_ip``) for requests without one. Requests refused for bad or missing credentials never get
  this far: api/auth.py limits them per client IP (``PERSONA_API_AUTH_FAILURE_LIMIT``) with a
  ``RateLimiter`` of its own.

The GraphQL documents' own limits (depth, aliases, tokens, cost) are api/validation.py's.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from personagraph.api.rate_limiter import Buckets, RateLimiter
from personagraph.graph.settings import Settings

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
RATE_LIMITED = "RATE_LIMITED"
BAD_REQUEST = "BAD_REQUEST"
MAX_JSON_DEPTH = 64  # nesting of a request's JSON; an audience definition needs about 20

RequestKey = Callable[[Scope], str]


def client_ip(scope: Scope) -> str:
    """The client's address (as uvicorn reports it): the rate-limit key of requests without a key."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def refuse(
    send: Send, status: int, message: str, code: str, headers: Mapping[str, str] | None = None
) -> None:
    """A GraphQL-shaped JSON error (``errors[0].extensions.code``) with an HTTP status."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    raw_headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Requests whose body is over ``max_bytes`` get 413 before the app sees them.

    A declared ``Content-Length`` is checked first; otherwise (chunked) the body is read up to the
    limit and handed on whole (it is small, by definition).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, paths: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.paths = dict(paths or {})  # paths with a cap of their own (the event collector's batches)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.paths.get(str(scope.get("path", "")), self.max_bytes)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > cap:
                await self._too_large(send, cap)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                await self._too_large(send, cap)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, replay([body], receive), send)

    async def _too_large(self, send: Send, cap: int) -> None:
        await refuse(send, 413, f"The request body is larger than {cap} bytes", PAYLOAD_TOO_LARGE)


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(text: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text, brackets in strings ignored, without
    parsing it (parsing recurses once per level)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub(b"", text)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class JsonDepthLimit:
    """Requests to ``paths`` whose JSON nests deeper than ``max_depth`` get 400 (``BAD_REQUEST``, in the
    usual ``errors`` shape) before anything parses it: the body, and GET's ``variables`` and
    ``extensions`` parameters. Python's json module recurses per level, so 2 kB of ``[`` in
    ``extensions`` ended in RecursionError and an HTTP 500.

    Install it inside ``BodySizeLimit``, which bounds what it reads.
    """

    def __init__(
        self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH, paths: tuple[str, ...] = ("/graphql",)
    ) -> None:
        self.app = app
        self.max_depth = max_depth
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.paths):
            await self.app(scope, receive, send)
            return
        query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"), keep_blank_values=True)
        texts = [value.encode() for name in ("variables", "extensions") for value in query.get(name, ())]
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if any(json_depth(text) > self.max_depth for text in (*texts, body)):
            await refuse(
                send, 400, f"The request's JSON is nested more than {self.max_depth} levels deep", BAD_REQUEST
            )
            return
        whole: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, replay([whole], receive), send)


def replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that gives ``messages`` first (a body already read), then what ``receive`` gives."""

    async def next_message() -> Message:
        return messages.pop(0) if messages else await receive()

    return next_message


class RateLimit:
    """429 with ``Retry-After`` (whole seconds) for requests to ``paths`` over the limiter's rate.

    ``key`` says whose budget a request spends (api/auth.py: the API key or token subject).
    Health, readiness and metrics are not limited (probes must not be refused).
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        key: RequestKey = client_ip,
        paths: tuple[str, ...] = ("/graphql",),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.key = key
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(self.paths):
            wait = self.limiter.acquire(self.key(scope))
            if wait > 0:
                retry_after = max(1, math.ceil(wait - 1e-6))  # whole seconds, float noise aside
                await refuse(
                    send,
                    429,
                    f"Too many requests: at most {self.limiter.capacity:.0f} a minute; retry in "
                    f"{retry_after} s",
                    RATE_LIMITED,
                    {"Retry-After": str(retry_after)},
                )
                return
        await self.app(scope, receive, send)


def install_http_limits(
    app: FastAPI,
    settings: Settings,
    key: RequestKey = client_ip,
    buckets: Buckets | None = None,
    body_caps: Mapping[str, int] | None = None,
) -> None:
    """Add the body cap and the rate limit (``app.state.rate_limiter``, None when off) to ``app``; its
    buckets in ``buckets`` (the app's: the state file every worker shares), else in this process's memory.

    Call before other middleware is added, so that middleware (metrics) wraps these and counts the
    refusals (under ``route="unmatched"``: they never reach the router).
    """
    caps = dict(body_caps or {})  # paths whose body may be larger (or must be smaller) than the setting
    # Inside the body cap (added later: outside), which bounds it.
    app.add_middleware(JsonDepthLimit, paths=("/graphql", *caps))
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes, paths=caps)
    app.state.rate_limiter = None
    if settings.api_rate_limit:
        app.state.rate_limiter = RateLimiter(settings.api_rate_limit, buckets=buckets, name="rate")
        app.add_middleware(RateLimit, limiter=app.state.rate_limiter, key=key)

"""GraphQL over HTTP: the router that serves POST /graphql (and GraphiQL on GET).

Strawberry's FastAPI router already follows most of the GraphQL-over-HTTP spec
(https://graphql.github.io/graphql-over-http/draft/); the overrides below add what it lacks:

- response media type negotiation between ``application/graphql-response+json`` and
  ``application/json`` from the ``Accept`` header, 406 when neither is acceptable;
- with ``application/graphql-response+json``, 400 for GraphQL request errors (parse, validation,
  variable coercion), and no ``data`` entry in any media type when execution never started;
- 405 with ``Allow: POST`` for mutations sent with GET;
- an operation that cannot be determined answered as a GraphQL request error (200 or 400 as above);
- 415 for POST bodies that are not UTF-8 ``application/json``; 400 for JSON that is not an object
  and for a non-string ``operationName``;
- 400 for batched operations (a JSON array body), which the API does not accept (query limits:
  api/validation.py);
- automatic persisted queries (api/persisted.py): a document sent once, then by its SHA-256;
- profile, product and audience-members pages answered by api/fast_path.py once the usual path has
  answered their document for the caller's role without an error (POSTs mostly before they reach this
  router: api/fast_entry.py);
- subscriptions over graphql-transport-ws on the same path, the websocket authenticated at
  ``connection_init`` (``on_ws_connect``, api/connection_auth.py), which AuthMiddleware (HTTP) never sees.

``tools/graphql-http-audit`` runs the ``graphql-http`` audit suite against this router
(tests/test_graphql_http_audit.py). GraphiQL (our own page, api/ide.py: no CDN) is served to a browser's
navigation (a GET whose ``Accept`` starts with ``text/html``, whatever its query string, so reloading
GraphiQL's address shows the page) and, as strawberry does, to GETs without a ``query`` parameter that
accept ``text/html`` or ``*/*``; not with ``PERSONA_ENV=production`` (404; api/production.py ``graphql_ide``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from personagraph.api.auth import AuthError
from personagraph.api.connection_auth import ConnectionAuth
from personagraph.api.errors import ensure_coded
from personagraph.api.fast_path import FastPaths
from personagraph.api.ide import is_ide_navigation, page
from personagraph.api.persisted import PersistedQueries, PersistedQueryError

log = logging.getLogger(__name__)
LEARN = object()  # the fast path has no plan yet: an answer without errors may give it one
TRIED = "fast_path_tried"  # in a request's scope state: api/fast_entry.py ran the fast path already
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
_SUPPORTED = (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON)
_UTF8 = frozenset({"utf-8", "utf8"})


def is_utf8(params: dict[str, str]) -> bool:
    """Whether a ``Content-Type``'s parameters say UTF-8 (no charset: JSON's default, UTF-8)."""
    return params.get("charset", "utf-8").lower() in _UTF8


def negotiate_media_type(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header, or None when nothing supported is acceptable.

    Spec "Body": the server MUST respect ``Accept`` and use the highest-priority supported type.
    Each supported type takes the q-value of the most specific range matching it (RFC 9110 12.5.1);
    ties go to the more specific range, then to the range listed first. A missing header, ``*/*``
    or ``application/*`` alone gives ``application/json`` (the legacy-watershed default, which
    the audit's SHOULD 80D8 and 47DE check).
    """
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # also NaN: an invalid weight excludes the range
                    quality = 0.0
        ranges.append((media_range.lower(), quality))

    def rank(media_type: str) -> tuple[float, int, int]:
        """(q, specificity, -position) of the most specific range matching ``media_type``."""
        best = (0.0, -1, 0)
        for position, (media_range, quality) in enumerate(ranges):
            if media_range == media_type:
                specificity = 2
            elif media_range == media_type.split("/")[0] + "/*":
                specificity = 1
            elif media_range == "*/*":
                specificity = 0
            else:
                continue
            if specificity > best[1]:
                best = (quality, specificity, -position)
        return best

    ranked = {media_type: rank(media_type) for media_type in _SUPPORTED}
    if all(quality <= 0 for quality, _, _ in ranked.values()):
        return None
    graphql, json = ranked[GRAPHQL_RESPONSE_JSON], ranked[APPLICATION_JSON]
    return GRAPHQL_RESPONSE_JSON if graphql > json else APPLICATION_JSON


def is_request_error(result: ExecutionResult) -> bool:
    """True when execution never started: parse, validation or variable coercion failed.

    Such errors carry no ``path`` and leave ``data`` unset; field errors always have a ``path``,
    even when they null the whole result (which is still a partial response, status 200).
    """
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


class PersonaGraphQLRouter(GraphQLRouter[Any, None]):
    """Strawberry's FastAPI router, with the GraphQL-over-HTTP behaviour the spec asks for.

    The negotiated media type and status travel on the per-request ``sub_response`` that
    strawberry merges into the response it builds (``create_response``).
    """

    def __init__(
        self,
        *args: Any,
        fast_paths: FastPaths | None = None,
        connection_auth: ConnectionAuth | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.persisted = PersistedQueries()  # documents sent once, run by their hash after
        self.fast_paths = fast_paths  # hot read shapes without per-field execution (api/fast_path.py)
        self.connection_auth = connection_auth  # who opens a websocket (none: every websocket is refused)

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws ``connection_init``: the websocket's caller, from the upgrade request's
        headers or the payload (api/connection_auth.py); without valid credentials strawberry closes the
        socket with 4403 and no operation runs (a ``subscribe`` before the ack gets 4401)."""
        if self.connection_auth is None:
            raise ConnectionRejectionError()
        scope = context.request.scope
        params = context.connection_params if isinstance(context.connection_params, dict) else None
        try:
            context.principal = self.connection_auth.principal(scope, params)
        except AuthError:
            raise ConnectionRejectionError() from None
        context.reauthenticate = self.connection_auth.recheck(scope, params)
        return cast(UnsetType, UNSET)  # a connection_ack without a payload

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """The page for a browser's navigation whatever the query string (GraphiQL keeps its state
        there: ``?query=...``), else strawberry's rule (a GET without ``query`` accepting HTML)."""
        if self.graphql_ide and is_ide_navigation(request.method, request.headers.get("accept", "")):
            return True
        return super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        """Our GraphiQL page (api/ide.py), its assets served by this app, not strawberry's CDN page."""
        return page(str(request.scope.get("root_path", "")))

    def encode_json(self, data: object) -> bytes:
        """The response body, encoded by orjson (several times faster than the json module on a page of
        users); what orjson refuses (an integer past 64 bits in a JSON scalar) goes to the json module."""
        try:
            return orjson.dumps(data)
        except TypeError:
            return json.dumps(data, separators=(",", ":")).encode()

    def parse_json(self, data: str | bytes) -> Any:
        """Spec "JSON Encoding": bodies (and GET's JSON parameters) are objects, else 400 (not a 500).

        JSON nested too deeply for the parser is a 400 too; api/http_limits.py's JsonDepthLimit refuses it
        before it gets here, in the GraphQL error shape.
        """
        try:
            parsed = super().parse_json(data)
        except RecursionError:
            raise HTTPException(400, "The request's JSON is nested too deeply") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request must be a JSON object")
        return parsed

    def _validate_batch_request(
        self, request_data: list[GraphQLRequestData], protocol: GraphQLRequestProtocol
    ) -> None:
        """Batched operations are refused whatever the schema's config (strawberry's hook; without
        it strawberry still refuses them, as batching is not configured, with a terser message)."""
        raise HTTPException(
            400, "Batched operations (a JSON array body) are not accepted: send one operation per request"
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Spec "POST": bodies are UTF-8 ``application/json``; reject others with 415 before reading.

        A missing ``Content-Type`` is refused too (SHOULD, audit 9ABE), and a charset other than
        UTF-8 is refused rather than misread as UTF-8. Spec "Request Parameters": a non-string
        {operationName} makes the request malformed, a 400 (strawberry checks the other three).
        """
        if request.method == "POST":
            media_type, params = parse_content_type(request.content_type or "")
            multipart = self.multipart_uploads_enabled and media_type.lower() == "multipart/form-data"
            if media_type.lower() != APPLICATION_JSON and not multipart:
                raise HTTPException(415, "POST requests must use Content-Type: application/json")
            if not is_utf8(params):
                raise HTTPException(415, "POST request bodies must be encoded in UTF-8")
        parsed = await super().parse_http_body(request)
        for data in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(data.operation_name, str | None):
                raise HTTPException(400, "The GraphQL operation's `operationName` must be a string or null.")
        return parsed

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Any,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """Negotiate the media type, then map request errors to the spec's status codes.

        - "Body": 406 when ``Accept`` lists no supported media type (RECOMMENDED over ignoring it).
        - "GET": a mutation over GET MUST get 405 (strawberry says 400); ``Allow`` per RFC 9110.
        - "Operation cannot be determined" (an ``operationName`` the document does not define) is a
          GraphQL request error in a GraphQL response, not strawberry's plain-text 400.
        - "application/graphql-response+json": a request error SHOULD get 400 (with
          ``application/json`` it stays 200, as that section asks).
        """
        media_type = negotiate_media_type(request.headers.get("accept"))
        if media_type is None:
            raise HTTPException(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}")
        sub_response.media_type = media_type
        try:
            fast = None
            if isinstance(request_data, GraphQLRequestData):
                query = self.persisted.resolve(request_data.query, request_data.extensions)
                request_data = replace(request_data, query=query)
                if not request.scope.get("state", {}).get(TRIED):
                    fast = await self._fast(request_adapter.method, request_data, context)
            result: ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult
            if isinstance(fast, ExecutionResult):
                result = fast
            else:
                result = await super().execute_operation(
                    request, request_adapter, request_data, context, root_value, sub_response
                )
                if fast is LEARN and isinstance(result, ExecutionResult) and not result.errors:
                    assert self.fast_paths is not None and isinstance(request_data, GraphQLRequestData)
                    principal = getattr(context, "principal", None)
                    if request_data.query is not None and principal is not None:
                        self.fast_paths.learn(request_data.query, request_data.operation_name, principal.role)
        except PersistedQueryError as refused:
            result = ExecutionResult(data=None, errors=[refused.as_graphql_error()])
        except HTTPException as error:
            if request_adapter.method == "GET" and isinstance(error.__cause__, InvalidOperationTypeError):
                raise StarletteHTTPException(405, error.reason, headers={"Allow": "POST"}) from error
            if not isinstance(error.__cause__, CannotGetOperationTypeError):
                raise
            unresolved = GraphQLError(error.reason, extensions={"code": "OPERATION_RESOLUTION_FAILURE"})
            result = ExecutionResult(data=None, errors=[unresolved])
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = ensure_coded(result.errors)
        if (
            media_type == GRAPHQL_RESPONSE_JSON
            and isinstance(result, ExecutionResult)
            and is_request_error(result)
        ):
            sub_response.status_code = 400
        return result

    async def _fast(
        self, method: str, request_data: GraphQLRequestData, context: Any
    ) -> ExecutionResult | object | None:
        """The fast path's answer (api/fast_path.py) when it has a plan for this document and role;
        LEARN when the usual path's answer may teach it one; None otherwise."""
        principal = getattr(context, "principal", None)
        if (
            self.fast_paths is None
            or principal is None
            or (method == "GET" and not self.allow_queries_via_get)
        ):
            return None
        compiled = self.fast_paths.plan(request_data.query, request_data.operation_name, principal.role)
        if compiled is None:
            return LEARN
        data = await self.fast_paths.answer(compiled, context, request_data.variables)
        return None if data is None else ExecutionResult(data=data, errors=None)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """GraphQL spec 7.1.2 and GraphQL-over-HTTP: no ``data`` entry when execution never started."""
        response = await super().process_result(request, result)
        if is_request_error(result):
            response.pop("data", None)
        return response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """Spec "Body": answer in the negotiated media type and SHOULD name the encoding."""
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or APPLICATION_JSON
        response.headers["content-type"] = f"{media_type}; charset=utf-8"
        return response

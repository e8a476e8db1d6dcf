"""Every GraphQL error leaves with an `extensions.code`; nothing unexpected leaves with its text.

Codes (Apollo's names, so clients already know them):
- ``NOT_FOUND``: a mutation or look-up names a user, product, tag or audience that does not exist;
- ``BAD_USER_INPUT``: a value is wrong (our domain errors name the argument and the reason);
- ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED``: the document itself is wrong;
- ``OPERATION_RESOLUTION_FAILURE``: ``operationName`` names no operation of the document (set by
  api/router.py, before execution);
- ``UNAUTHENTICATED``: no valid credentials (HTTP 401 from api/auth.py, before GraphQL);
- ``FORBIDDEN``: the caller's role may not select a field, use an attribute or purpose, or list the
  members of an audience under the k-anonymity floor (api/policy.py, graph/privacy/k_anonymity.py);
- ``UNAVAILABLE``: Neo4j cannot be reached right now (retry later);
- ``TIMEOUT``: Neo4j stopped a statement at the transaction timeout (``PERSONA_API_QUERY_TIMEOUT_S``);
  the message says so and nothing of the statement;
- ``QUERY_TOO_COMPLEX``: the document is over a query limit (depth, aliases, tokens or estimated
  cost; api/validation.py): a request error, nothing ran. The cost error says ``cost N exceeds the
  limit M`` and carries ``extensions.cost`` / ``maxCost``;
- ``PAYLOAD_TOO_LARGE`` (HTTP 413) / ``RATE_LIMITED`` (HTTP 429, ``Retry-After``) / ``BAD_REQUEST``
  (HTTP 400, request JSON nested too deeply): refused by api/http_limits.py's middleware before GraphQL,
  in a JSON body of the same ``errors`` shape;
- ``INTERNAL_SERVER_ERROR``: anything else; the client sees a fixed message, the log gets the trace.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from neo4j.exceptions import DatabaseUnavailable, ServiceUnavailable, SessionExpired
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.execution import ExecutionResult

from personagraph.api.policy import PolicyError
from personagraph.graph.audiences.model import AudienceDefinitionError
from personagraph.graph.errors import (
    Neo4jUnavailableError,
    NotFoundError,
    PersonaGraphError,
    QueryTimeoutError,
)

log = logging.getLogger(__name__)

UNAVAILABLE_ERRORS = (ServiceUnavailable, SessionExpired, DatabaseUnavailable, Neo4jUnavailableError)
INTERNAL_MESSAGE = "Unexpected error; it has been logged."
_TOKEN_LIMIT = re.compile(r"Syntax Error: Document contains more than \d+ tokens")


def is_token_limit(message: str) -> bool:
    """True for the parse error of a document over ``max_tokens`` (graphql-core's message; the limit is
    api/validation.py's). It is raised from the parser cache's hook, which no extension sees: coded here.
    """
    return _TOKEN_LIMIT.match(message) is not None


def replaced(error: GraphQLError, message: str, **changes: Any) -> GraphQLError:
    """A copy of ``error`` with another message (and any of ``original_error``, ``extensions``): errors
    are never edited, as the validation cache shares them between requests."""
    fields: dict[str, Any] = {"original_error": error.original_error, "extensions": error.extensions}
    fields.update(changes)
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path, **fields
    )


class ApiError(Exception):
    """An error raised by the API layer itself with a chosen code (auth, limits)."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


def code_of(error: GraphQLError) -> str:
    """The code for one error, from what raised it (or its place in the pipeline when nothing did)."""
    original = error.original_error
    if original is None:
        if is_token_limit(error.message):
            return "QUERY_TOO_COMPLEX"
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        return "GRAPHQL_VALIDATION_FAILED"
    if isinstance(original, GraphQLError):  # a variable's value failed coercion to its declared type
        return "BAD_USER_INPUT"
    if isinstance(original, ApiError | PolicyError):
        return original.code
    if isinstance(original, NotFoundError):
        return "NOT_FOUND"
    if isinstance(original, UNAVAILABLE_ERRORS):
        return "UNAVAILABLE"
    if isinstance(original, QueryTimeoutError):
        return "TIMEOUT"
    if isinstance(original, PersonaGraphError | ValueError):
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


def coded(error: GraphQLError) -> GraphQLError:
    """A copy of the error carrying its code; unexpected errors are masked and logged with the trace."""
    code = code_of(error)
    extensions = dict(error.extensions or {})
    extensions["code"] = code
    message = error.message
    original = error.original_error
    if isinstance(original, AudienceDefinitionError):
        extensions["problems"] = list(original.problems)
    if code == "UNAVAILABLE":
        message = "Neo4j is unavailable; retry shortly."
        log.warning("graph unavailable during %s: %s", error.path, original)
    elif isinstance(original, QueryTimeoutError):
        log.warning("statement %s timed out during %s", original.statement, error.path)
    elif code == "INTERNAL_SERVER_ERROR":
        message = INTERNAL_MESSAGE
        log.error("unexpected error at %s", error.path, exc_info=original)
    return replaced(error, message, original_error=None, extensions=extensions)


def ensure_coded(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Code the errors that have no code yet (some parse failures skip the extension's hook)."""
    return [e if (e.extensions or {}).get("code") else coded(e) for e in errors]


class QuietSchema(strawberry.Schema):
    """Strawberry logs every error at ERROR level; expected ones (bad input) are not incidents.

    ErrorCodes logs the unexpected and the unavailable ones itself, once, with the trace.
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


class ErrorCodes(SchemaExtension):
    """Rewrites the errors of each result, whatever stage (parse, validate, execute) produced them."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            result.errors = ensure_coded(result.errors)
        pre = self.execution_context.pre_execution_errors
        if pre:
            self.execution_context.pre_execution_errors = ensure_coded(pre)

    def on_stream_result(self, result: Any) -> None:  # type: ignore[override]
        """Each result a subscription streams (its first included) leaves coded too: they are sent before
        the operation ends."""
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = ensure_coded(result.errors)

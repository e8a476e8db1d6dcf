"""Query limits: what one request may ask of the API, checked before anything reaches Neo4j.

GraphQL documents (schema extensions, built per app from the settings by ``limit_extensions``):

- depth (``PERSONA_API_MAX_DEPTH``): nested selections, counted like strawberry's
  ``QueryDepthLimiter`` (a field with a selection set adds one level; introspection is not counted);
- aliases (``PERSONA_API_MAX_ALIASES``): per document, a fragment's aliases counted at every
  spread of it, as strawberry's ``MaxAliasesLimiter`` does since 0.315.7 (CVE-2026-47707);
- tokens (``PERSONA_API_MAX_TOKENS``): strawberry's ``MaxTokensLimiter`` (graphql-core's parser
  stops at the limit; api/errors.py codes its parse error, which no extension hook sees);
- cost (``PERSONA_API_MAX_COST``): every field costs the number of times it would be resolved at
  most: the product of the page sizes of the lists around it (``estimate_cost``), checked just
  before execution, once the variables are known. A field evaluating an audience definition adds
  ``RELATIONAL_FANOUT`` to the power of each relational condition's nesting level (``definition_cost``):
  each level multiplies the work by every member's ties.

Depth and aliases are our own validation rules rather than strawberry's: both of strawberry's
re-walk a fragment at every spread, so a document of ~140 tokens whose fragments spread each other
8 times over 10 levels keeps the alias counter busy for over a minute (measured with 0.341.2).
Ours visit each fragment once (memoised), count the same numbers, and every limit answers
``extensions.code = QUERY_TOO_COMPLEX`` (a request error: no ``data``; 400 with
``application/graphql-response+json``).

With ``PERSONA_ENV=production`` the schema also refuses introspection (graphql-core's
``NoSchemaIntrospectionCustomRule``, what strawberry's ``DisableIntrospection`` adds), error
messages lose their "Did you mean ...?" suggestions, and the router serves no GraphiQL (``graphql_ide``).

HTTP (ASGI middleware, ``install_http_limits``):

- ``BodySizeLimit``: bodies over ``PERSONA_API_MAX_BODY_BYTES`` get 413 before the app reads them;
- ``JsonDepthLimit``: JSON (the body, GET's ``variables`` and ``extensions``) nested more than
  ``MAX_JSON_DEPTH`` levels gets 400 before it is parsed (Python's json module recurses: 2 kB of
  brackets ended in RecursionError, an HTTP 500);
- ``RateLimit``: ``PERSONA_API_RATE_LIMIT`` requests per minute per client on /graphql, a token
  bucket per key held in memory by each process (so N workers allow N times the rate; use the
  proxy in front for a global limit). Over it: 429 with ``Retry-After``. The budget is the caller's
  API key or token subject (api/auth.py ``rate_limit_key``), the client IP for requests without one.
  Requests refused for bad or missing credentials never get this far: api/auth.py limits them per
  client IP (``PERSONA_API_AUTH_FAILURE_LIMIT``) with a ``RateLimiter`` of its own.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal
from urllib.parse import parse_qs

from fastapi import FastAPI
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    ValidationRule,
    get_named_type,
    get_operation_ast,
    value_from_ast_untyped,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language.visitor import SKIP, VisitorAction
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.types.execution import ExecutionResult

from personagraph.graph import paging
from personagraph.graph.analytics import insights
from personagraph.graph.audiences import service
from personagraph.graph.audiences.model import RELATIONAL_KINDS
from personagraph.graph.products import read as products
from personagraph.graph.profiles import read as profiles
from personagraph.graph.settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
RATE_LIMITED = "RATE_LIMITED"
BAD_REQUEST = "BAD_REQUEST"

PAGE_ARGUMENTS = ("first", "limit")  # arguments that size the list a field returns
UNPAGED_LIST_SIZE = 10  # items assumed for a list with no page argument (a user's tags, an order's lines)
# No field serves a bigger page than this (graph/ refuses larger ones with BAD_USER_INPUT, which
# should stay the answer to `influencers(first: 100000)`), so a bigger `first` counts as this.
LARGEST_PAGE = max(
    paging.MAX_PAGE, insights.MAX_FIRST, products.MAX_FIRST, profiles.MAX_NEIGHBORHOOD, service.MAX_PAGE
)

# An audience definition (the ``definition`` argument, of type AudienceInput) costs this to the power of
# its nesting level for each relational condition in it: ties assumed per member at each level, so
# friends { who: friends { who: ... } } costs 100 + 10,000, and a third level would cost 1,000,000.
DEFINITION_ARGUMENT, DEFINITION_TYPE = "definition", "AudienceInput"
RELATIONAL_FANOUT = 100
MAX_JSON_DEPTH = 64  # nesting of a request's JSON; an audience definition needs about 20

_TOKEN_LIMIT = re.compile(r"Syntax Error: Document contains more than \d+ tokens")
_SUGGESTION = re.compile(r"\s*Did you mean\b[^?]*\?")


def is_token_limit(message: str) -> bool:
    """True for the parse error of a document over ``max_tokens`` (graphql-core's message).

    It is raised from the parser cache's hook, which no extension sees: api/errors.py codes it.
    """
    return _TOKEN_LIMIT.match(message) is not None


def without_suggestions(error: GraphQLError) -> GraphQLError:
    """The error without graphql-core's "Did you mean ...?" (a copy: the validation cache shares
    error objects between requests, so they are never edited)."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


def too_complex(message: str, node: Node | None = None, **details: int) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": QUERY_TOO_COMPLEX, **details})


class _Fragments:
    """A document's fragments, each walked once per question (memoised), cycles cut.

    Cycles are reported by graphql-core's NoFragmentCyclesRule; here a spread back into a fragment
    being walked counts as nothing, so the walk ends.
    """

    def __init__(self, document: DocumentNode) -> None:
        self.definitions = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._memo: dict[tuple[str, Any], int] = {}
        self._active: set[tuple[str, Any]] = set()

    def value(self, name: str, key: Any, compute: Callable[[FragmentDefinitionNode], int]) -> int:
        memo_key = (name, key)
        if memo_key in self._memo:
            return self._memo[memo_key]
        fragment = self.definitions.get(name)
        if fragment is None or memo_key in self._active:
            return 0  # unknown fragment or a cycle: other rules report both
        self._active.add(memo_key)
        try:
            found = compute(fragment)
        finally:
            self._active.discard(memo_key)
        self._memo[memo_key] = found
        return found


def query_depth(selection_set: SelectionSetNode, fragments: _Fragments) -> int:
    """Levels of nested selections below ``selection_set`` (leaves and introspection add none)."""
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is None or selection.name.value.startswith("__"):
                continue
            depth = 1 + query_depth(selection.selection_set, fragments)
        elif isinstance(selection, InlineFragmentNode):
            depth = query_depth(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            depth = fragments.value(
                selection.name.value, "depth", lambda f: query_depth(f.selection_set, fragments)
            )
        else:  # pragma: no cover - no other selection kinds
            continue
        deepest = max(deepest, depth)
    return deepest


def alias_count(selection_set: SelectionSetNode, fragments: _Fragments) -> int:
    """Aliases below ``selection_set``, a fragment's counted once per spread of it."""
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 1 if selection.alias else 0
            if selection.selection_set is not None:
                count += alias_count(selection.selection_set, fragments)
        elif isinstance(selection, InlineFragmentNode):
            count += alias_count(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            count += fragments.value(
                selection.name.value, "aliases", lambda f: alias_count(f.selection_set, fragments)
            )
    return count


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    class QueryDepthLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
            fragments = _Fragments(node)
            for operation in node.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                try:
                    depth = query_depth(operation.selection_set, fragments)
                except RecursionError:
                    self.report_error(too_complex("The document is nested too deeply", operation))
                    continue
                if depth > max_depth:
                    self.report_error(
                        too_complex(
                            f"Query depth {depth} exceeds the limit {max_depth}",
                            operation,
                            depth=depth,
                            maxDepth=max_depth,
                        )
                    )
            return SKIP  # everything is done; no need to visit the nodes

    return QueryDepthLimit


def alias_limit_rule(max_aliases: int) -> type[ASTValidationRule]:
    class AliasLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
            fragments = _Fragments(node)
            try:
                aliases = sum(
                    alias_count(d.selection_set, fragments)
                    for d in node.definitions
                    if isinstance(d, OperationDefinitionNode)
                )
            except RecursionError:
                self.report_error(too_complex("The document is nested too deeply"))
                return SKIP
            if aliases > max_aliases:
                self.report_error(
                    too_complex(
                        f"{aliases} aliases exceed the limit {max_aliases} (a fragment's aliases count "
                        "at each spread of it)",
                        aliases=aliases,
                        maxAliases=max_aliases,
                    )
                )
            return SKIP

    return AliasLimit


class _CostEstimate:
    """``estimate_cost``'s walk: selections with the page that their list fields will consume.

    A field with a page argument (``first``, ``limit``) that returns a list multiplies what is
    selected inside it by its page size; one that returns an object (a connection) hands its page
    size down to the first list below it (``edges``). A list with neither counts as the length of
    its list argument (``users(ids:)``) or ``UNPAGED_LIST_SIZE``. The cost of a selection set is
    linear in its multiplier, so each fragment is walked once per page handed to it.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.definitions = 0  # of the cost, what audience definitions add (for the error message)
        self.fragments = _Fragments(document)
        self.variables = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        self.variables.update(variables)

    def selections(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, page: int | None
    ) -> int:
        cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost += 1
                fields = parent.fields if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {}
                field = fields.get(selection.name.value)
                if field is not None:
                    cost += self._definition(field.args, selection)
                if field is None or selection.selection_set is None:
                    continue  # a leaf, introspection (cheap: no Neo4j) or unknown (validation said so)
                size, inner_page = self._page(field.type, field.args, selection, page)
                if size:
                    cost += size * self.selections(
                        selection.selection_set, get_named_type(field.type), inner_page
                    )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                cost += self.selections(selection.selection_set, inner, page)
            elif isinstance(selection, FragmentSpreadNode):
                cost += self.fragments.value(selection.name.value, page, lambda f: self._fragment(f, page))
        return cost

    def _definition(self, args: Mapping[str, Any], node: FieldNode) -> int:
        """What the audience definition given to this field adds (0 for fields that take none)."""
        arg = args.get(DEFINITION_ARGUMENT)
        if arg is None or get_named_type(arg.type).name != DEFINITION_TYPE:
            return 0
        cost = definition_cost(self._argument(node, DEFINITION_ARGUMENT, None))
        self.definitions += cost
        return cost

    def _fragment(self, fragment: FragmentDefinitionNode, page: int | None) -> int:
        return self.selections(
            fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value), page
        )

    def _page(
        self, field_type: GraphQLOutputType, args: Mapping[str, Any], node: FieldNode, page: int | None
    ) -> tuple[int, int | None]:
        """(multiplier for what is selected inside, page handed down to the lists below)."""
        unwrapped = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        is_list = isinstance(unwrapped, GraphQLList)
        for name in PAGE_ARGUMENTS:
            if name in args:
                size = self._int(self._argument(node, name, args[name].default_value))
                return (size, None) if is_list else (1, size)
        if not is_list:
            return 1, page
        if page is not None:
            return page, None
        for name, arg in args.items():
            arg_type = arg.type.of_type if isinstance(arg.type, GraphQLNonNull) else arg.type
            if isinstance(arg_type, GraphQLList):
                value = self._argument(node, name, arg.default_value)
                if isinstance(value, list):
                    return len(value), None
                if value is not None and value is not Undefined:
                    return 1, None  # a single value stands for a list of one
        return UNPAGED_LIST_SIZE, None

    def _argument(self, node: FieldNode, name: str, default: Any) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, self.variables)
        return default

    @staticmethod
    def _int(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return min(max(value, 0), LARGEST_PAGE)
        return UNPAGED_LIST_SIZE  # not an Int: execution refuses it anyway


def definition_cost(definition: Any) -> int:
    """The cost of an audience definition as given (not yet validated: any JSON): each relational
    condition (friends, followers, referralHops) costs ``RELATIONAL_FANOUT ** level``, where level 1
    is one not inside another's ``who`` / ``of``. Levels past the model's cap (which refuses them)
    count as one past it, enough to go over any sensible limit."""
    cost = 0
    stack: list[tuple[Any, int]] = [(definition, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, list):
            stack.extend((child, level) for child in node)
            continue
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            if key in ("and", "or", "not"):
                stack.append((value, level))
            elif key in RELATIONAL_KINDS:
                cost += RELATIONAL_FANOUT ** min(level + 1, MAX_RELATIONAL_LEVEL)
                if isinstance(value, Mapping):
                    stack.append((value.get(RELATIONAL_KINDS[key]), level + 1))
    return cost


MAX_RELATIONAL_LEVEL = 3  # the model allows 2 (graph/audiences/model.py MAX_RELATIONAL_DEPTH)


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The sum over the operation's fields of the product of the page sizes of the lists around each
    (``first`` from the arguments, the variables or the schema's default, at most ``LARGEST_PAGE``;
    1 outside any list).

    ``friends(first: 100) { edges { node { friends(first: 100) { edges { node { id } } } } } }``
    costs 1 + 1 + 100 + 100 + 100 + 10 000 + 10 000 (each ``id`` is resolved 10 000 times).
    """
    return _estimate(schema, document, operation, variables)[0]


def _estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """(the cost, of which audience definitions)."""
    root = schema.get_root_type(operation.operation)
    estimate = _CostEstimate(schema, document, operation, variables or {})
    return estimate.selections(operation.selection_set, root, None), estimate.definitions


class QueryLimits(SchemaExtension):
    """Per request: refuses an operation over the cost limit before it runs (the variables are known
    then), and in production takes the suggestions out of error messages."""

    def __init__(self, *, max_cost: int, production: bool) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.production = production

    def on_operation(self) -> Iterator[None]:
        yield
        if not self.production:
            return
        ctx = self.execution_context
        result = ctx.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            result.errors = [without_suggestions(e) for e in result.errors]
        if ctx.pre_execution_errors:
            ctx.pre_execution_errors = [without_suggestions(e) for e in ctx.pre_execution_errors]

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.result is None and ctx.graphql_document is not None:
            operation = get_operation_ast(ctx.graphql_document, ctx.operation_name)
            error = None if operation is None else self._cost_error(ctx.graphql_document, operation)
            if error is not None:
                ctx.result = GraphQLExecutionResult(data=None, errors=[error])
        yield

    def _cost_error(self, document: DocumentNode, operation: OperationDefinitionNode) -> GraphQLError | None:
        ctx = self.execution_context
        try:
            cost, definitions = _estimate(ctx.schema._schema, document, operation, ctx.variables)
        except RecursionError:
            return too_complex("The document is nested too deeply", operation, maxCost=self.max_cost)
        if cost <= self.max_cost:
            return None
        audiences = (
            f"; {definitions} of it from audience definitions, where each relational condition (friends, "
            f"followers, referralHops) costs {RELATIONAL_FANOUT} and one nested in another's `who` / `of` "
            f"{RELATIONAL_FANOUT**2}: nest fewer"
            if definitions
            else ""
        )
        return too_complex(
            f"Query cost {cost} exceeds the limit {self.max_cost}: each field counts once for every item "
            "of the pages around it (`first` times `first` ...); ask for smaller pages or fewer nested lists"
            + audiences,
            operation,
            cost=cost,
            maxCost=self.max_cost,
        )


def is_production(settings: Settings) -> bool:
    return settings.env == "production"


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The query-limit extensions for a schema, as factories (a fresh instance per request).

    The rule classes are made once, so the validation cache (keyed by the rules) still hits.
    """
    rules: list[type[ASTValidationRule]] = [
        depth_limit_rule(settings.api_max_depth),
        alias_limit_rule(settings.api_max_aliases),
    ]
    if is_production(settings):
        rules.append(NoSchemaIntrospectionCustomRule)
    max_tokens, max_cost, production = settings.api_max_tokens, settings.api_max_cost, is_production(settings)
    return [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: QueryLimits(max_cost=max_cost, production=production),
    ]


def graphql_ide(settings: Settings) -> Literal["graphiql"] | None:
    """GraphiQL in development; none in production (GET /graphql for a browser is then a 404)."""
    return None if is_production(settings) else "graphiql"


# HTTP ------------------------------------------------------------------------------------------------

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

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._too_large(send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _too_large(self, send: Send) -> None:
        await refuse(send, 413, f"The request body is larger than {self.max_bytes} bytes", PAYLOAD_TOO_LARGE)


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
                await self.app(scope, _replay([message], receive), send)
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
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


class RateLimiter:
    """Token buckets, one per key: ``per_period`` tokens in a burst, refilled at ``per_period`` per
    ``period_s`` seconds (a minute unless told). In memory, per process; idle keys (full buckets) are
    dropped every minute."""

    SWEEP_S = 60.0

    def __init__(
        self, per_period: int, clock: Callable[[], float] = time.monotonic, *, period_s: float = 60.0
    ) -> None:
        self.capacity = float(per_period)
        self.rate = per_period / period_s  # tokens a second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self._swept = clock()

    def acquire(self, key: str) -> float:
        """0 when the request may go ahead (a token is taken), else the seconds until one is back."""
        now = self.clock()
        if now - self._swept >= self.SWEEP_S:
            self._sweep(now)
        tokens, then = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + max(now - then, 0.0) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def wait(self, key: str) -> float:
        """Like ``acquire`` but takes no token: 0 when ``key`` has one now, else the seconds until it does."""
        now = self.clock()
        tokens, then = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + max(now - then, 0.0) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def _sweep(self, now: float) -> None:
        full_after = self.capacity / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        self._swept = now


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


def install_http_limits(app: FastAPI, settings: Settings, key: RequestKey = client_ip) -> None:
    """Add the body cap and the rate limit (``app.state.rate_limiter``, None when off) to ``app``.

    Call before other middleware is added, so that middleware (metrics) wraps these and counts the
    refusals (under ``route="unmatched"``: they never reach the router).
    """
    app.add_middleware(JsonDepthLimit)  # inside the body cap (added later: outside), which bounds it
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    app.state.rate_limiter = None
    if settings.api_rate_limit:
        app.state.rate_limiter = RateLimiter(settings.api_rate_limit)
        app.add_middleware(RateLimit, limiter=app.state.rate_limiter, key=key)

"""Query limits: what one GraphQL document may ask of the API, checked before anything reaches Neo4j
(schema extensions, built per app from the settings by ``limit_extensions``):

- depth (``PERSONA_API_MAX_DEPTH``): nested selections, counted like strawberry's
  ``QueryDepthLimiter`` (a field with a selection set adds one level; introspection is not counted);
- aliases (``PERSONA_API_MAX_ALIASES``): per document, a fragment's aliases counted at every
  spread of it, as strawberry's ``MaxAliasesLimiter`` does since 0.315.7 (CVE-2026-47707);
- tokens (``PERSONA_API_MAX_TOKENS``): strawberry's ``MaxTokensLimiter`` (graphql-core's parser
  stops at the limit; api/errors.py codes its parse error, which no extension hook sees);
- cost (``PERSONA_API_MAX_COST``): the estimate of api/cost.py (each field counted once for every item
  of the pages around it, audience definitions weighed by relational nesting), checked by ``CostLimit``
  just before execution, once the variables are known.

Depth and aliases are our own validation rules rather than strawberry's: both of strawberry's
re-walk a fragment at every spread, so a document of ~140 tokens whose fragments spread each other
8 times over 10 levels keeps the alias counter busy for over a minute (measured with 0.341.2).
Ours visit each fragment once (memoised), count the same numbers, and every limit answers
``extensions.code = QUERY_TOO_COMPLEX`` (a request error: no ``data``; 400 with
``application/graphql-response+json``).

Production's own rules and extensions (no introspection, no suggestions) are api/production.py's;
the HTTP limits (body size, JSON nesting, rate) are api/http_limits.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    ValidationRule,
    get_operation_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language.visitor import SKIP, VisitorAction
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

from personagraph.api.cost import RELATIONAL_FANOUT, cost_parts
from personagraph.api.production import NoSuggestions, is_production, production_rules
from personagraph.api.selection import tree_of
from personagraph.graph.settings import Settings

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def too_complex(message: str, node: Node | None = None, **details: int) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": QUERY_TOO_COMPLEX, **details})


def depth_limit_rule(max_depth: int) -> type[ASTValidationRule]:
    class QueryDepthLimit(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
            tree = tree_of(self.context.schema, node)
            for operation in node.definitions:
                if not isinstance(operation, OperationDefinitionNode):
                    continue
                try:
                    depth = tree.depth(operation)
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
            try:
                aliases = tree_of(self.context.schema, node).aliases()
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


class CostLimit(SchemaExtension):
    """Per request: refuses an operation over the cost limit before it runs (the variables are known
    then)."""

    def __init__(self, *, max_cost: int) -> None:
        super().__init__()
        self.max_cost = max_cost

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
            cost, definitions = cost_parts(ctx.schema._schema, document, operation, ctx.variables)
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


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    """The query-limit extensions for a schema, as factories (a fresh instance per request).

    The rule classes are made once, so the validation cache (keyed by the rules) still hits.
    """
    rules: list[type[ASTValidationRule]] = [
        depth_limit_rule(settings.api_max_depth),
        alias_limit_rule(settings.api_max_aliases),
        *production_rules(settings),
    ]
    max_tokens, max_cost = settings.api_max_tokens, settings.api_max_cost
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: CostLimit(max_cost=max_cost),
    ]
    if is_production(settings):
        extensions.append(NoSuggestions)
    return extensions

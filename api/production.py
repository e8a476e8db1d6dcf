"""What ``PERSONA_ENV=production`` changes in the GraphQL API: the schema refuses introspection
(graphql-core's ``NoSchemaIntrospectionCustomRule``, what strawberry's ``DisableIntrospection`` adds;
``production_rules``), error messages lose their "Did you mean ...?" suggestions (``NoSuggestions``),
and the router serves no GraphiQL (``graphql_ide``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from graphql import ASTValidationRule, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from personagraph.api.errors import replaced
from personagraph.graph.settings import Settings

_SUGGESTION = re.compile(r"\s*Did you mean\b[^?]*\?")


def is_production(settings: Settings) -> bool:
    return settings.env == "production"


def graphql_ide(settings: Settings) -> Literal["graphiql"] | None:
    """GraphiQL in development; none in production (GET /graphql for a browser is then a 404)."""
    return None if is_production(settings) else "graphiql"


def production_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The validation rules production adds: no introspection."""
    return [NoSchemaIntrospectionCustomRule] if is_production(settings) else []


def without_suggestions(error: GraphQLError) -> GraphQLError:
    """The error without graphql-core's "Did you mean ...?" (a copy: the validation cache shares
    error objects between requests, so they are never edited)."""
    message = _SUGGESTION.sub("", error.message)
    if message == error.message:
        return error
    return replaced(error, message)


class NoSuggestions(SchemaExtension):
    """Per request, in production: takes the suggestions out of error messages."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context
        result = ctx.result
        if isinstance(result, GraphQLExecutionResult | ExecutionResult) and result.errors:
            result.errors = [without_suggestions(e) for e in result.errors]
        if ctx.pre_execution_errors:
            ctx.pre_execution_errors = [without_suggestions(e) for e in ctx.pre_execution_errors]

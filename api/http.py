"""GraphQL over HTTP: the router that serves POST /graphql (and GraphiQL on GET)."""

from __future__ import annotations

from typing import Any

from strawberry.fastapi import GraphQLRouter


class PersonaGraphQLRouter(GraphQLRouter[Any, None]):
    """Strawberry's FastAPI router, with the GraphQL-over-HTTP behaviour the spec asks for."""

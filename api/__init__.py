"""The GraphQL API (Strawberry on FastAPI) that front-end apps use."""

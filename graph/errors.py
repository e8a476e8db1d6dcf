"""One root error type with narrow subclasses; messages say what was given and what was expected."""

from __future__ import annotations


class PersonaGraphError(Exception):
    """Root of every error personagraph raises on purpose."""


class GraphLacksDataError(PersonaGraphError):
    """The graph does not hold what an analysis needs (e.g. no dated orders to learn from): `persona
    analyze all` skips that analysis with this message instead of stopping."""


class ConfigurationError(PersonaGraphError):
    """A setting is missing or has a value that cannot work."""


class Neo4jUnavailableError(PersonaGraphError):
    """No Neo4j answers where we expected one."""


class Neo4jAuthError(PersonaGraphError):
    """Neo4j answered but refused the configured credentials."""


class LocalNeo4jError(PersonaGraphError):
    """The local (Maven Central + Java launcher) Neo4j could not be installed, started or stopped."""


class KafkaError(PersonaGraphError):
    """Kafka could not be installed, started or reached, or did not acknowledge what was sent to it."""


class CypherCatalogError(PersonaGraphError):
    """A Cypher file is missing or malformed."""


class SchemaMigrationError(PersonaGraphError):
    """A schema migration file conflicts with what the database recorded."""


class NotFoundError(PersonaGraphError):
    """The requested entity does not exist."""


class SuppressedUserError(PersonaGraphError):
    """A write names a user who asked to be forgotten (the suppression list holds their keyed hash)."""

    def __init__(self, message: str, field: str = "userId") -> None:
        super().__init__(message)
        self.field = field


class TimeRangeError(PersonaGraphError, ValueError):
    """A time that leaves the calendar (years 1-9999) once it is put in UTC."""


class QueryTimeoutError(PersonaGraphError):
    """Neo4j stopped a statement that ran past its transaction timeout (graph/store.py)."""

    def __init__(self, statement: str, timeout_s: float | None) -> None:
        limit = f"the {timeout_s:g} s limit" if timeout_s is not None else "the server's transaction timeout"
        super().__init__(
            f"The query ran longer than {limit} and was stopped; ask for less (smaller pages, a narrower "
            "audience) or retry later"
        )
        self.statement = statement  # the catalog name, for logs (never shown to API clients)
        self.timeout_s = timeout_s

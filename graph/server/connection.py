"""Where Neo4j is and how to reach it: one ConnectionInfo, one driver factory with clear errors."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import neo4j
from neo4j import Driver, GraphDatabase, Query
from neo4j.exceptions import AuthError, DatabaseUnavailable, Neo4jError, ServiceUnavailable, SessionExpired

from personagraph.graph.catalog import cypher
from personagraph.graph.errors import Neo4jAuthError, Neo4jUnavailableError
from personagraph.graph.server.choose import Neo4jSource, choose_source, compose_up, local_neo4j
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionInfo:
    uri: str
    user: str
    password: str
    database: str
    source: Neo4jSource

    @classmethod
    def of_local(cls, local: LocalNeo4j, database: str = "neo4j") -> ConnectionInfo:
        """How to reach a local launcher's Neo4j (its port and generated password)."""
        return cls(local.bolt_uri, "neo4j", local.password, database, Neo4jSource.LOCAL)

    def __repr__(self) -> str:  # never print the password
        return f"ConnectionInfo(uri={self.uri!r}, user={self.user!r}, database={self.database!r})"


def resolve_connection(settings: Settings) -> ConnectionInfo:
    """Connection details for the Neo4j that `choose_source` picks (which must be running)."""
    source = choose_source(settings)
    password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
    if source is Neo4jSource.LOCAL:
        local = local_neo4j(settings)
        status = local.status()
        if not status.running:
            raise Neo4jUnavailableError(
                f"no Neo4j is running in {status.data_dir}: run `persona neo4j start` "
                "or set NEO4J_URI to use another server"
            )
        uri, password = f"bolt://127.0.0.1:{status.port}", local.password
    elif source is Neo4jSource.DOCKER:
        uri = f"bolt://127.0.0.1:{settings.neo4j_local_port}"
    else:
        assert settings.neo4j_uri is not None
        uri = settings.neo4j_uri
    if not password:
        raise Neo4jAuthError(f"no password for Neo4j at {uri}: set PERSONA_NEO4J_PASSWORD")
    return ConnectionInfo(uri, settings.neo4j_user, password, settings.neo4j_database, source)


@dataclass(frozen=True)
class DriverTuning:
    """The driver's pool and retry settings, explicit rather than the driver's silent defaults."""

    pool_size: int = 100
    acquisition_timeout_s: float = 60.0
    socket_timeout_s: float = 30.0
    max_retry_s: float = 30.0

    @classmethod
    def for_batch(cls, settings: Settings) -> DriverTuning:
        """CLI, loaders and analytics: patient retries (a transient error must not lose a batch)."""
        return cls(
            settings.neo4j_pool_size,
            settings.neo4j_acquisition_timeout_s,
            settings.neo4j_socket_timeout_s,
            settings.neo4j_max_retry_s,
        )

    @classmethod
    def for_api(cls, settings: Settings) -> DriverTuning:
        """The API: fail fast (UNAVAILABLE) rather than hold a request while Neo4j is away."""
        return cls(
            settings.neo4j_pool_size,
            settings.api_neo4j_acquisition_timeout_s,
            min(settings.neo4j_socket_timeout_s, 5.0),
            settings.api_neo4j_max_retry_s,
        )


def open_driver(info: ConnectionInfo, *, wait_s: float = 0.0, tuning: DriverTuning | None = None) -> Driver:
    """A verified driver; retries for up to ``wait_s`` while the server is still starting."""
    tuning = tuning or DriverTuning()
    driver = GraphDatabase.driver(
        info.uri,
        auth=(info.user, info.password),
        user_agent="personagraph",
        notifications_min_severity=neo4j.NotificationMinimumSeverity.OFF,
        max_connection_pool_size=tuning.pool_size,
        connection_acquisition_timeout=tuning.acquisition_timeout_s,
        connection_timeout=tuning.socket_timeout_s,
        max_transaction_retry_time=tuning.max_retry_s,
    )
    deadline = time.monotonic() + wait_s
    while True:
        try:
            # A plain session run: execute_query would retry an unreachable server for 30 s.
            with driver.session(database=info.database) as session:
                session.run(Query(cypher("server/read/ping"))).consume()
            return driver
        except AuthError as exc:
            driver.close()
            raise Neo4jAuthError(
                f"Neo4j at {info.uri} refused user {info.user!r}: wrong or missing password "
                "(set PERSONA_NEO4J_PASSWORD)"
            ) from exc
        except (ServiceUnavailable, OSError) as exc:
            if time.monotonic() >= deadline:
                driver.close()
                raise Neo4jUnavailableError(f"Neo4j at {info.uri} does not answer: {exc}") from exc
            time.sleep(0.5)


def start_neo4j(settings: Settings) -> ConnectionInfo:
    """Make sure the chosen Neo4j is up (starting Docker or the local launcher if needed)."""
    source = choose_source(settings)
    if source is Neo4jSource.DOCKER:
        compose_up(settings)
    elif source is Neo4jSource.LOCAL:
        local_neo4j(settings).start()
    info = resolve_connection(settings)
    open_driver(info, wait_s=settings.neo4j_connect_timeout_s).close()
    return info


def ping(driver: Driver, database: str, *, timeout_s: float = 2.0) -> bool:
    """Whether the database answers right now (one short query, no retries): for readiness checks."""
    try:
        with driver.session(database=database) as session:
            session.run(Query(cypher("server/read/ping"), timeout=timeout_s)).consume()
        return True
    except (ServiceUnavailable, SessionExpired, DatabaseUnavailable, OSError, Neo4jError):
        return False

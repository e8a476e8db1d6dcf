"""What every `persona` command shares: the connection to Neo4j, who carries an operation out, times.

cli/main.py registers the sub-command modules (tags, audience, consent, forget); they take these helpers
from here, never from cli/main.py, so no module of cli/ imports the one that imports it.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from personagraph.graph.errors import PersonaGraphError
from personagraph.graph.server.connection import DriverTuning, open_driver, resolve_connection
from personagraph.graph.settings import Settings, get_settings
from personagraph.graph.store import GraphStore


@contextmanager
def open_store(settings: Settings | None = None) -> Iterator[GraphStore]:
    """A store over the configured Neo4j (``settings``, else the environment's), closed on the way out."""
    settings = settings or get_settings()
    info = resolve_connection(settings)
    driver = open_driver(info, wait_s=5, tuning=DriverTuning.for_batch(settings))
    try:
        yield GraphStore(driver, info.database)
    finally:
        driver.close()


def operator(actor: str | None) -> str:
    """Who carries an operation out, for the audit log: ``actor`` when given, else the OS user."""
    if actor and actor.strip():
        return actor.strip()
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        return "unknown"


def parse_time(value: str, field: str, error: type[PersonaGraphError]) -> datetime:
    """A time given as ISO-8601 (a date alone is midnight UTC; no zone means UTC); else ``error`` (the
    command's input error, which the CLI prints) naming ``field``."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        expected = "expected ISO-8601 like 2025-06-30T12:00:00Z"
        raise error(f"{field}: {value!r} is not a time; {expected}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

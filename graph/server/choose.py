"""Decide which Neo4j to use: NEO4J_URI, else Docker, else the local launcher.

Both the CLI and the pytest fixture call :func:`choose_source`, so they never disagree.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from enum import StrEnum
from pathlib import Path

from personagraph.graph.errors import Neo4jUnavailableError
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.settings import Settings

log = logging.getLogger(__name__)

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


class Neo4jSource(StrEnum):
    URI = "uri"  # a server the user named (Aura, a cluster, Desktop, compose elsewhere)
    DOCKER = "docker"  # a Docker engine answers: compose for users, testcontainers for tests
    LOCAL = "local"  # Neo4j Community from Maven Central behind our Java launcher


def docker_available(timeout: float = 5.0) -> bool:
    """True when a Docker engine (not just the client) answers."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run([docker, "info"], capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def choose_source(settings: Settings) -> Neo4jSource:
    """The one place that decides where Neo4j comes from."""
    if settings.neo4j_uri:
        return Neo4jSource.URI
    if settings.use_docker and docker_available():
        return Neo4jSource.DOCKER
    return Neo4jSource.LOCAL


def local_neo4j(settings: Settings, *, data_dir: Path | None = None, port: int | None = None) -> LocalNeo4j:
    """The local launcher configured from settings (tests pass their own folder and port)."""
    password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
    return LocalNeo4j(
        version=settings.neo4j_version,
        cache_dir=settings.neo4j_cache_dir,
        data_dir=data_dir or settings.neo4j_local_dir,
        port=port or settings.neo4j_local_port,
        password=password,
        plugins=settings.neo4j_plugins,
        heap=settings.neo4j_heap,
        pagecache=settings.neo4j_pagecache,
        tx_memory_max=settings.neo4j_tx_memory_max,
        java_home=settings.java_home,
    )


def compose_up(settings: Settings) -> None:
    """Start the compose Neo4j service and wait for its healthcheck."""
    password = settings.neo4j_password.get_secret_value() if settings.neo4j_password else None
    if not password:
        raise Neo4jUnavailableError(
            "Docker Neo4j needs a password: set PERSONA_NEO4J_PASSWORD (8+ characters)"
        )
    log.info("Starting Neo4j with docker compose (%s)", COMPOSE_FILE)
    done = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "up", "-d", "--wait", "neo4j"],
        env={**os.environ, "PERSONA_NEO4J_PASSWORD": password},
    )
    if done.returncode != 0:
        raise Neo4jUnavailableError("docker compose could not start Neo4j; see the output above")


def compose_down() -> None:
    subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "stop", "neo4j"], check=False)

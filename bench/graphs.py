"""The Neo4j instances and datasets benchmarks share: a generated dataset per (users, seed), a fresh local
Neo4j with the schema, an already running one, and a store on a local one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from personagraph.graph.server.choose import local_neo4j
from personagraph.graph.server.connection import ConnectionInfo, open_driver
from personagraph.graph.server.local import LocalNeo4j, free_port
from personagraph.graph.server.migrations import apply_schema
from personagraph.graph.settings import Settings
from personagraph.graph.store import GraphStore

log = logging.getLogger("bench")
SALT = "bench-salt"  # the identity salt every bench loads with


def dataset(users: int, seed: int) -> Path:
    """Generate once per (users, seed); kept under bench/.data (ignored by git)."""
    from personagraph.loaders.generator import generate

    folder = Path(__file__).resolve().parent / ".data" / f"users-{users}-seed-{seed}"
    if not (folder / "ties.csv").exists():
        log.info("generating %d users into %s", users, folder)
        generate(folder, users=users, seed=seed)
    return folder


@contextmanager
def store_of(local: LocalNeo4j) -> Iterator[GraphStore]:
    """A store on a running local Neo4j's database."""
    driver = open_driver(ConnectionInfo.of_local(local), wait_s=120)
    try:
        yield GraphStore(driver, "neo4j")
    finally:
        driver.close()


@contextmanager
def fresh_neo4j(workdir: Path, name: str) -> Iterator[tuple[ConnectionInfo, Path]]:
    """A new, empty local Neo4j (own folder and port) with the schema applied."""
    local = local_neo4j(Settings(), data_dir=workdir / name, port=free_port())
    local.start()
    info = ConnectionInfo.of_local(local)
    try:
        driver = open_driver(info, wait_s=60)
        apply_schema(GraphStore(driver, "neo4j"))
        driver.close()
        yield info, local.import_dir
    finally:
        local.stop()


def running_neo4j(data_dir: Path) -> tuple[ConnectionInfo, int]:
    """An already loaded local Neo4j (started with PERSONA_NEO4J_LOCAL_DIR=data_dir), and its pid:
    so several benchmarks can share one long 1M-user load."""
    state = json.loads((data_dir / "server.json").read_text(encoding="utf-8"))
    local = local_neo4j(Settings(), data_dir=data_dir, port=int(state["port"]))
    info = ConnectionInfo.of_local(local)
    return info, int(state["pid"])

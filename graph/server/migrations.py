"""Versioned schema migrations from cypher/schema/V<NNN>__<name>.cypher, applied once each."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from personagraph.graph.catalog import all_files, cypher, statements
from personagraph.graph.errors import SchemaMigrationError
from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    checksum: str
    statements: tuple[str, ...]


@dataclass
class SchemaReport:
    applied: list[Migration] = field(default_factory=list)
    already: list[Migration] = field(default_factory=list)


def migrations() -> list[Migration]:
    """Every schema file in version order."""
    found: list[Migration] = []
    for name in all_files():
        area, _, stem = name.partition("/")
        if area != "schema":
            continue
        prefix, sep, title = stem.partition("__")
        if not sep or not prefix.startswith("V") or not prefix[1:].isdigit():
            raise SchemaMigrationError(
                f"schema file {stem}.cypher: expected a name like V003__what_it_does.cypher"
            )
        text = cypher(name)
        checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
        found.append(Migration(int(prefix[1:]), title, checksum, tuple(statements(text))))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise SchemaMigrationError(f"two schema files share a version: {sorted(versions)}")
    return sorted(found, key=lambda m: m.version)


def apply_schema(store: GraphStore) -> SchemaReport:
    """Apply every migration not yet recorded; idempotent, and refuses edited past versions."""
    report = SchemaReport()
    # V001 creates the ledger's own constraint; the ledger is empty until then.
    recorded = {r["version"]: r for r in store.read("server/read/list_migrations")}
    for migration in migrations():
        seen = recorded.get(migration.version)
        if seen is not None:
            if seen["checksum"] != migration.checksum:
                raise SchemaMigrationError(
                    f"schema V{migration.version:03d} ({migration.name}) changed after it was "
                    "applied; add a new version file instead of editing an applied one"
                )
            report.already.append(migration)
            continue
        log.info(
            "Applying schema V%03d %s (%d statements)",
            migration.version,
            migration.name,
            len(migration.statements),
        )
        for statement in migration.statements:
            store.run_text(statement)
        store.write(
            "server/write/record_migration",
            version=migration.version,
            name=migration.name,
            checksum=migration.checksum,
        )
        report.applied.append(migration)
    store.run_autocommit("server/read/await_indexes")
    return report

"""Versioned schema migrations from cypher/schema/V<NNN>__<name>.cypher, applied once each."""

from __future__ import annotations

import hashlib
import logging
import re
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


# A statement that changes the schema (a constraint or an index); every other statement of a migration
# changes data: it brings a graph written by older code into the shape the current statements keep.
_SCHEMA_STATEMENT = re.compile(r"(?:CREATE|DROP)\s+(?:\w+\s+)?(?:CONSTRAINT|INDEX)\b", re.IGNORECASE)


def is_schema_statement(statement: str) -> bool:
    return _SCHEMA_STATEMENT.match(statement) is not None


def apply_schema(store: GraphStore, *, fresh_graph: bool = False) -> SchemaReport:
    """Apply every migration not yet recorded; idempotent, and refuses edited past versions.

    ``fresh_graph``: the database holds only what this version's code wrote (an offline import of the
    graph the merge statements build, loaders/bulk/initial.py), so the migrations' data statements, which
    bring an older graph into the shape the statements keep, have nothing to change: only their schema
    statements run, and every migration is recorded as applied. tests/test_bulk_load.py's fingerprint
    comparison would find a derived property the import does not write but a data statement would.
    """
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
            if fresh_graph and not is_schema_statement(statement):
                continue
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

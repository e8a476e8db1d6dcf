from __future__ import annotations

import pytest
from neo4j.exceptions import ConstraintError

from personagraph.graph.errors import SchemaMigrationError
from personagraph.graph.server.migrations import apply_schema, migrations
from personagraph.graph.store import GraphStore


def _constraint_names(store: GraphStore) -> set[str]:
    records, _, _ = store.driver.execute_query("SHOW CONSTRAINTS YIELD name RETURN name")
    return {r["name"] for r in records}


def test_migrations_are_numbered_and_distinct() -> None:
    versions = [m.version for m in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1


def test_apply_is_idempotent_and_recorded(store: GraphStore) -> None:
    store.driver.execute_query("MATCH (m:SchemaMigration) DELETE m")  # as if never applied
    first = apply_schema(store)
    assert [m.version for m in first.applied] == [m.version for m in migrations()]
    names = _constraint_names(store)
    assert {"user_id", "product_sku", "order_id", "identity_key"} <= names

    second = apply_schema(store)
    assert second.applied == [] and len(second.already) == len(migrations())
    assert _constraint_names(store) == names
    ledger = store.read("server/read/list_migrations")
    assert [r["version"] for r in ledger] == [m.version for m in migrations()]


def test_edited_applied_migration_is_refused(store: GraphStore) -> None:
    apply_schema(store)
    store.driver.execute_query("MATCH (m:SchemaMigration {version: 1}) SET m.checksum = 'edited'")
    try:
        with pytest.raises(SchemaMigrationError, match="changed after it was applied"):
            apply_schema(store)
    finally:
        store.driver.execute_query("MATCH (m:SchemaMigration) DELETE m")
        apply_schema(store)


def test_uniqueness_is_enforced(store: GraphStore) -> None:
    store.driver.execute_query("CREATE (:User {userId: 'dup'})")
    with pytest.raises(ConstraintError, match="already exists"):
        store.driver.execute_query("CREATE (:User {userId: 'dup'})")

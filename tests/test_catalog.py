from __future__ import annotations

import re

import pytest
from neo4j import Driver, Query

from personagraph.graph.catalog import all_files, cypher, statements
from personagraph.graph.errors import CypherCatalogError


def test_statements_split_on_semicolons_and_drop_comments() -> None:
    text = "// header\nCREATE INDEX a IF NOT EXISTS FOR (u:User) ON (u.x);\n// note\nRETURN 1;\n"
    assert statements(text) == ["CREATE INDEX a IF NOT EXISTS FOR (u:User) ON (u.x)", "RETURN 1"]


def test_missing_file_names_the_expected_path() -> None:
    with pytest.raises(CypherCatalogError, match=r"cypher/profiles/read/no_such_thing\.cypher"):
        cypher("profiles/read/no_such_thing")


@pytest.mark.parametrize("name", ["nowhere/get_user", "get_user", "../graph/store", "profiles//get_user", ""])
def test_names_outside_the_catalog_are_refused(name: str) -> None:
    with pytest.raises(CypherCatalogError, match="no Cypher file"):
        cypher(name)


WRITES = re.compile(r"\b(MERGE|CREATE|SET|DELETE|REMOVE)\b")
# GDS procedures that change the GDS catalog (project or drop a graph, mutate one) rather than the database:
# they count as writes, so they live under write/; estimates and stream modes change nothing.
GDS_WRITES = re.compile(r"\bgds\.(graph\.project|graph\.drop|[\w.]+\.mutate|[\w.]+\.write)\s*\(")


def test_reads_live_apart_from_writes() -> None:
    """cypher/<feature>/read/ holds statements that change nothing; cypher/<feature>/write/ those that do."""
    for name in all_files():
        folder = name.split("/")[-2]
        if folder not in ("read", "write"):
            assert name.startswith(("schema/", "tags/rules/")), f"{name}: expected <feature>/<read|write>/"
            folder = "schema" if name.startswith("schema/") else "read"  # rule queries only read
        body = "\n".join(line for line in cypher(name).splitlines() if not line.lstrip().startswith("//"))
        if folder != "schema":
            changes = bool(WRITES.search(body) or GDS_WRITES.search(body))
            assert changes == (folder == "write"), f"{name} is in {folder}/"


def test_every_file_has_a_parameter_contract_header() -> None:
    for name in all_files():
        first = cypher(name).splitlines()[0]
        assert first.startswith("// "), f"{name} must start with a header comment"


@pytest.mark.parametrize("name", all_files())
def test_every_cypher_file_explains(driver: Driver, name: str) -> None:
    """EXPLAIN plans a statement without running it, so a typo fails here, not in production."""
    with driver.session() as session:
        for statement in statements(cypher(name)):
            plan = session.run(Query("EXPLAIN " + statement)).consume().plan  # type: ignore[arg-type]
            assert plan, f"{name}: no plan for {statement[:60]}"

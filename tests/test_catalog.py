from __future__ import annotations

import pytest
from neo4j import Driver, Query

from graph.catalog import all_files, cypher, statements
from graph.errors import CypherCatalogError


def test_statements_split_on_semicolons_and_drop_comments() -> None:
    text = "// header\nCREATE INDEX a IF NOT EXISTS FOR (u:User) ON (u.x);\n// note\nRETURN 1;\n"
    assert statements(text) == ["CREATE INDEX a IF NOT EXISTS FOR (u:User) ON (u.x)", "RETURN 1"]


def test_missing_file_names_the_expected_path() -> None:
    with pytest.raises(CypherCatalogError, match=r"cypher/query/no_such_thing\.cypher"):
        cypher("query/no_such_thing")


def test_unknown_area_is_refused() -> None:
    with pytest.raises(CypherCatalogError, match="unknown Cypher area"):
        cypher("nowhere/get_user")


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

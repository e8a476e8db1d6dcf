"""Every example in docs/queries.md runs against the demo graph (`make demo`) without errors and
finds something: the documented ids exist and each top-level field returns data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from neo4j import Driver

from personagraph.cli.demo import build_demo
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions
from tests.api_support import GraphQL, secured

QUERIES = Path(__file__).resolve().parent.parent / "docs" / "queries.md"
BLOCK = re.compile(r"```(graphql|json)\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Example:
    title: str
    query: str
    variables: dict[str, Any]


def examples() -> list[Example]:
    """Each ```graphql block, with the ```json block right after it as its variables."""
    text = QUERIES.read_text(encoding="utf-8")
    found: list[Example] = []
    blocks = list(BLOCK.finditer(text))
    for i, block in enumerate(blocks):
        if block.group(1) != "graphql":
            continue
        title = re.findall(r"^## (.+)$", text[: block.start()], re.MULTILINE)[-1]
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        variables = json.loads(after.group(2)) if after and after.group(1) == "json" else {}
        found.append(Example(title, block.group(2), variables))
    return found


@pytest.fixture(scope="module")
def gql(
    driver: Driver, neo4j_connection: ConnectionInfo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GraphQL]:
    store = GraphStore(driver, neo4j_connection.database)
    store.run_autocommit("server/write/wipe_data")
    folder = tmp_path_factory.mktemp("demo")
    build_demo(store, folder, options=LoadOptions(rejects_dir=folder / "rejects"))
    keys = secured(folder / "keys", api_rate_limit=0)  # tests/test_api_limits.py covers the limit
    with keys.client(neo4j_connection) as client:
        yield GraphQL(client)


def test_the_document_has_examples() -> None:
    assert len(examples()) >= 10


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.title)
def test_example_runs_and_finds_data(gql: GraphQL, example: Example) -> None:
    data = gql.data(example.query, example.variables)
    for field, value in data.items():
        assert value not in (None, [], {}), f"{example.title}: {field} came back empty"
    audience = data.get("audience")
    if isinstance(audience, dict) and "count" in audience:  # an audience that finds nobody shows nothing
        assert audience["count"]["value"], f"{example.title}: the audience is empty"

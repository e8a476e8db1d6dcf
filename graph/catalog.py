"""Cypher text lives in cypher/<area>/<name>.cypher; this catalog loads each file once."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from graph.errors import CypherCatalogError

AREAS = ("schema", "admin", "load", "query", "analytics")


def _area_dir(area: str) -> Traversable:
    if area not in AREAS:
        raise CypherCatalogError(f"unknown Cypher area {area!r}; expected one of {AREAS}")
    return resources.files("cypher").joinpath(area)


@cache
def cypher(name: str) -> str:
    """Return the text of ``<area>/<name>.cypher``, e.g. ``cypher("query/get_user")``."""
    area, _, stem = name.partition("/")
    path = _area_dir(area).joinpath(f"{stem}.cypher")
    if not stem or not path.is_file():
        raise CypherCatalogError(f"no Cypher file {name!r}: expected cypher/{area}/{stem}.cypher")
    return path.read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """Split a file into statements on ';' at line ends, dropping '//' comment lines."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in re.split(r";[ \t]*(?:\n|$)", body) if s.strip()]


def all_files() -> list[str]:
    """Every catalog name, for tests that EXPLAIN the whole catalog."""
    names: list[str] = []
    for area in AREAS:
        folder = _area_dir(area)
        if folder.is_dir():
            names += sorted(
                f"{area}/{f.name.removesuffix('.cypher')}"
                for f in folder.iterdir()
                if f.name.endswith(".cypher")
            )
    return names

"""Cypher text lives in ``cypher/<feature>/<read|write>/<name>.cypher`` (schema migrations in
``cypher/schema/``, rule-tag queries in ``cypher/tags/rules/``); this catalog loads each file once.
A statement's catalog name is its path under ``cypher/`` without the suffix, e.g.
``"profiles/read/get_user"``."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from personagraph.graph.errors import CypherCatalogError

_NAME = re.compile(r"[a-z0-9_]+(?:/[A-Za-z0-9_]+)+")


def _root() -> Traversable:
    return resources.files("personagraph.cypher")


@cache
def cypher(name: str) -> str:
    """Return the text of ``cypher/<name>.cypher``, e.g. ``cypher("profiles/read/get_user")``."""
    parts = name.split("/")
    path = _root().joinpath(*parts[:-1], f"{parts[-1]}.cypher") if _NAME.fullmatch(name) else None
    if path is None or not path.is_file():
        raise CypherCatalogError(f"no Cypher file {name!r}: expected cypher/{name}.cypher")
    return path.read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """Split a file into statements on ';' at line ends, dropping '//' comment lines."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return [s.strip() for s in re.split(r";[ \t]*(?:\n|$)", body) if s.strip()]


def all_files() -> list[str]:
    """Every catalog name, for tests that EXPLAIN the whole catalog."""
    names: list[str] = []

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.is_dir() and not entry.name.startswith(("_", ".")):
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".cypher"):
                names.append(prefix + entry.name.removesuffix(".cypher"))

    walk(_root(), "")
    return names

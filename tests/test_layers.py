"""The house's layers hold: the import contracts, no import cycle, no old top-level import name.

- The contracts in pyproject.toml's ``[tool.importlinter]`` (cli > api > loaders > graph; cypher/ is
  data; inside graph/ the features above server/ above the shared core; only graph/ talks to the
  driver) are kept, checked by ``lint-imports`` as ``make lint`` runs it.
- graph/'s layer contract names every direct child of graph/, so a new module has to take a place.
- No module of personagraph imports itself back through others (grimp's import graph, networkx's
  strongly connected components; imports under ``if TYPE_CHECKING:`` and inside functions count).
- Nothing in graph/, api/, loaders/, cli/, tests/, bench/ or tools/ imports the folders by their old
  top-level names (``import graph``, ``from api.app import ...``, ``"loaders.pipeline"`` in a patch).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "personagraph"
OLD_NAMES = ("graph", "api", "loaders", "cli", "cypher")
SCANNED = ("graph", "api", "loaders", "cli", "tests", "bench", "tools")
SKIPPED_DIRS = {"node_modules", "__pycache__", ".data", "results"}


def contracts() -> list[dict[str, Any]]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config = tomllib.load(file)["tool"]["importlinter"]
    assert config["root_package"] == PACKAGE
    found: list[dict[str, Any]] = config["contracts"]
    return found


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"{lint_imports} is missing: `make install` installs the dev extra"
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert f"{len(contracts())} kept, 0 broken" in report, report


def test_the_layer_contract_is_cli_api_loaders_graph() -> None:
    layers = [c for c in contracts() if c["type"] == "layers" and c.get("containers") == [PACKAGE]]
    assert len(layers) == 1
    assert layers[0]["layers"] == ["cli", "api", "loaders", "graph"]


def test_graph_layers_place_every_module_of_graph() -> None:
    (layered,) = [c for c in contracts() if c.get("containers") == [f"{PACKAGE}.graph"]]
    placed = {name.strip() for layer in layered["layers"] for name in re.split(r"[:|]", layer)}
    graph = ROOT / "graph"
    children = {p.stem for p in graph.glob("*.py") if p.name != "__init__.py"}
    children |= {p.name for p in graph.iterdir() if (p / "__init__.py").exists()}
    assert not children - placed, (
        f"graph/ modules outside graph/'s layer contract (pyproject.toml): {sorted(children - placed)}"
    )
    assert not placed - children, f"graph/'s layer contract names what is gone: {sorted(placed - children)}"


def import_graph() -> nx.DiGraph[str]:
    modules = grimp.build_graph(PACKAGE, cache_dir=None)
    graph: nx.DiGraph[str] = nx.DiGraph()
    for module in modules.modules:
        graph.add_node(module)
        for imported in modules.find_modules_directly_imported_by(module):
            details = modules.get_import_details(importer=module, imported=imported)
            where = ", ".join(f"line {d['line_number']}" for d in details) or "?"
            graph.add_edge(module, imported, where=where)
    return graph


def test_no_import_cycles_inside_personagraph() -> None:
    graph = import_graph()
    assert any(m.startswith(f"{PACKAGE}.graph.") for m in graph), "grimp found none of personagraph"
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        steps = [f"{a} -> {b} ({graph.edges[a, b]['where']})" for a, b in cycle]
        cycles.append(
            f"{len(component)} modules {sorted(component)}; one cycle:\n    " + "\n    ".join(steps)
        )
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def python_files() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = set(path.relative_to(ROOT).parts)
            if not parts & SKIPPED_DIRS and not any(p.startswith(".venv") for p in parts):
                yield path


# A dotted path in a string (monkeypatch/mock targets, `-m` and uvicorn arguments) that names one of
# the folders' modules by its old top-level name, e.g. "api.app:create_app" or "graph.store.GraphStore".
OLD = "|".join(OLD_NAMES)
DOTTED = re.compile(rf"(?P<module>(?:{OLD})(?:\.[A-Za-z_]\w*)+)(?::[A-Za-z_]\w*)?")


def is_module(dotted: str) -> bool:
    """Whether some prefix (two parts or more) of the dotted path is a module under the repository."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:end])
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            return True
    return False


def old_imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OLD_NAMES:
                    yield f"line {node.lineno}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".")[0] in OLD_NAMES:
                yield f"line {node.lineno}: from {node.module} import ..."
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = DOTTED.fullmatch(node.value.strip())
            if match and is_module(match["module"]):
                yield f"line {node.lineno}: {node.value!r}"


def test_nothing_imports_the_old_top_level_names() -> None:
    scanned = list(python_files())
    assert len(scanned) > 100
    found = [f"{p.relative_to(ROOT)} {hit}" for p in scanned for hit in old_imports(p)]
    assert not found, "old top-level names (import them as personagraph.<folder>...):\n" + "\n".join(found)


ARCHITECTURE = ROOT / "docs" / "architecture.md"
# docs/architecture.md's module lists: one bullet per module or folder, its path first in backticks.
LISTED = re.compile(r"^- `((?:graph|api|loaders|cli|cypher)/[\w/.]*)`", re.MULTILINE)


def modules_and_cypher_folders() -> set[str]:
    """Every module under the four code folders (a package as its folder) and every cypher/ folder."""
    found = {"cypher/"}
    for top in ("graph", "api", "loaders", "cli"):
        for path in (ROOT / top).rglob("*.py"):
            if "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT).as_posix()
                found.add(relative.removesuffix("__init__.py"))
    found |= {f"{p.parent.relative_to(ROOT).as_posix()}/" for p in (ROOT / "cypher").rglob("*.cypher")}
    return found


def test_the_architecture_doc_lists_every_module() -> None:
    listed = set(LISTED.findall(ARCHITECTURE.read_text(encoding="utf-8")))
    actual = modules_and_cypher_folders()
    assert "graph/store.py" in actual
    assert not actual - listed, f"not in docs/architecture.md's module lists: {sorted(actual - listed)}"
    assert not listed - actual, f"docs/architecture.md lists what is gone: {sorted(listed - actual)}"


DOCUMENTS = ("README.md", "CONTRIBUTING.md", "docs/*.md")
# A path into the code folders as the docs write it: graph/store.py, cypher/<feature>/<read|write>/,
# graph/privacy/{consent,forget}.py; not inside a longer path or a URL.
MENTION = re.compile(r"(?<![\w./-])((?:graph|api|loaders|cli|cypher)/[\w./*<>|{},-]*)")
MADE_BY_INSTALL = ("api/static/vendor",)  # GraphiQL's files, fetched from npm by `make install`


def patterns(mention: str) -> list[str]:
    """The glob patterns a mention stands for: <placeholder> is *, {a,b} is either."""
    mention = re.sub(r"[.,:]+$", "", mention)
    mention = re.sub(r"<[^<>]*>", "*", mention)
    brace = re.search(r"\{([^{}]*)\}", mention)
    if brace:
        return [
            p
            for choice in brace[1].split(",")
            for p in patterns(mention[: brace.start()] + choice + mention[brace.end() :])
        ]
    return [mention]


def test_paths_in_the_docs_exist() -> None:
    documents = [p for pattern in DOCUMENTS for p in sorted(ROOT.glob(pattern))]
    assert ROOT / "README.md" in documents
    stale = []
    for document in documents:
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
            for mention in MENTION.findall(line):
                for pattern in patterns(mention):
                    if pattern.startswith(MADE_BY_INSTALL):
                        continue
                    if not any(ROOT.glob(pattern.rstrip("/"))):
                        stale.append(f"{document.relative_to(ROOT)}:{number}: {mention}")
    assert not stale, "paths in the docs that do not exist:\n" + "\n".join(stale)


# Code in the docs that imports or runs a folder by its old top-level name (`from graph... import`,
# `python -m loaders...`): the name is personagraph.<folder>.
OLD_CODE = re.compile(rf"^\s*(?:from (?:{OLD})[\w.]* import|import (?:{OLD})(?:[.,\s]|$))|-m (?:{OLD})\.")


def test_code_in_the_docs_uses_the_personagraph_name() -> None:
    documents = [p for pattern in DOCUMENTS for p in sorted(ROOT.glob(pattern))]
    old = [
        f"{document.relative_to(ROOT)}:{number}: {line.strip()}"
        for document in documents
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1)
        if OLD_CODE.search(line)
    ]
    assert not old, "old top-level names in the docs' code:\n" + "\n".join(old)

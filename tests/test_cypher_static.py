"""No Cypher statement is assembled from strings where it is sent; no audience value reaches Cypher text.

The static part parses every module under graph/, loaders/, api/, cli/ and bench/ and finds each call
that sends Cypher to Neo4j: ``driver.execute_query``, ``session.run`` / ``tx.run``, ``neo4j.Query(...)``
and the statement (or catalog name) of the GraphStore methods (graph/store.py). The statement argument
fails when it is an f-string, a ``+`` or ``%`` expression, a ``.format()`` / ``.join()`` call, or a name
that the same function (or the module) assigns from one of those. Anything else passes: a literal, a
catalog look-up, a subscript of a constant table, or an attribute such as ``statement.text`` (the
audience compiler's, whose text is checked by the second part with injection payloads).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from personagraph.graph.audiences import compile as audience_compile
from personagraph.graph.audiences.parse import parse_definition
from tests.test_injection import PAYLOADS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "loaders", "api", "cli", "bench")

# GraphStore methods whose first argument is a catalog name or a compiled statement (graph/store.py).
STORE_METHODS = frozenset(
    {
        "read",
        "read_statement",
        "write",
        "write_returning",
        "write_rows",
        "write_batches",
        "write_columns",
        "run_autocommit",
        "run_text",
    }
)
# Receivers whose ``.run`` sends Cypher (a session or a transaction), not subprocess.run or loader.run.
SESSION_NAME = re.compile(r"(^|_)(session|tx|transaction)$", re.IGNORECASE)
STORE_NAME = re.compile(r"(^|_)store$", re.IGNORECASE)
STATEMENT_KEYWORDS = ("query_", "query", "text", "statement", "name")


@dataclass(frozen=True)
class Offender:
    path: str
    line: int
    call: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.call}(...) gets {self.why}"


def _terminal(node: ast.expr) -> str:
    """The last name of a receiver: ``self.store`` -> ``store``, ``session`` -> ``session``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _terminal(node.func)
    return ""


def _assembled(node: ast.expr) -> str | None:
    """Why an expression builds text at run time (None when it does not)."""
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return "a '+' concatenation" if isinstance(node.op, ast.Add) else "a '%' format"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("format", "join")
    ):
        return f"a .{node.func.attr}() call"
    if isinstance(node, ast.IfExp):
        return _assembled(node.body) or _assembled(node.orelse)
    return None


class _Scope(ast.NodeVisitor):
    """One function (or the module body): its assignments, aliases of Cypher-sending callables, calls."""

    def __init__(self) -> None:
        self.assigned: dict[str, list[str]] = {}  # name -> why each assembling assignment assembles
        self.aliases: dict[str, str] = {}  # name -> the Cypher-sending method it stands for
        self.calls: list[ast.Call] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return None  # nested functions are scopes of their own

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self._record(target.id, node.value)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and node.value is not None:
            self._record(node.target.id, node.value)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name) and isinstance(node.op, ast.Add | ast.Mod):
            self.assigned.setdefault(node.target.id, []).append("a '+=' concatenation")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(node)
        self.generic_visit(node)

    def _record(self, name: str, value: ast.expr) -> None:
        why = _assembled(value)
        if why:
            self.assigned.setdefault(name, []).append(why)
        if isinstance(value, ast.Attribute) and (
            value.attr == "execute_query"
            or (value.attr == "run" and SESSION_NAME.search(_terminal(value.value)))
        ):
            self.aliases[name] = value.attr


def cypher_call(call: ast.Call, aliases: dict[str, str]) -> str | None:
    """The kind of Cypher-sending call this is, or None."""
    func = call.func
    if isinstance(func, ast.Name):
        if func.id == "Query":
            return "Query"
        return aliases.get(func.id)
    if not isinstance(func, ast.Attribute):
        return None
    receiver = _terminal(func.value)
    if func.attr == "execute_query":
        return "execute_query"
    if func.attr == "Query" and receiver == "neo4j":
        return "Query"
    if func.attr == "run" and SESSION_NAME.search(receiver):
        return f"{receiver}.run"
    if func.attr in STORE_METHODS and STORE_NAME.search(receiver):
        return f"{receiver}.{func.attr}"
    return None


def _statement(call: ast.Call) -> ast.expr | None:
    if call.args and not isinstance(call.args[0], ast.Starred):
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg in STATEMENT_KEYWORDS), None)


def _scopes(tree: ast.Module) -> Iterator[tuple[_Scope, _Scope]]:
    """(scope, module scope) for the module body and every function, however nested."""
    module = _Scope()
    for statement in tree.body:
        module.visit(statement)
    yield module, module
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            scope = _Scope()
            for statement in node.body:
                scope.visit(statement)
            yield scope, module


def offenders_in(source: str, path: str) -> list[Offender]:
    """Every Cypher-sending call in ``source`` whose statement is text assembled at run time."""
    found: list[Offender] = []
    for scope, module in _scopes(ast.parse(source, filename=path)):
        aliases = {**module.aliases, **scope.aliases}
        for call in scope.calls:
            kind = cypher_call(call, aliases)
            statement = _statement(call) if kind else None
            if kind is None or statement is None:
                continue
            why = _assembled(statement)
            if why is None and isinstance(statement, ast.Name):
                reasons = scope.assigned.get(statement.id) or (
                    module.assigned.get(statement.id) if scope is not module else None
                )
                why = f"{statement.id!r}, assigned from {reasons[0]}" if reasons else None
            if why:
                found.append(Offender(path, call.lineno, kind, why))
    return found


def python_files() -> list[Path]:
    """Our modules: hidden folders (bench/.venv-rust, .data) and node_modules are someone else's code."""
    return sorted(
        p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if not any(part.startswith(".") or part == "node_modules" for part in p.relative_to(ROOT).parts)
    )


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_checker_sees_cypher_calls_in_every_package() -> None:
    """Guards against a checker that finds nothing: each package sends Cypher somewhere it can see."""
    seen: set[str] = set()
    for path in python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for scope, module in _scopes(tree):
            if any(cypher_call(c, {**module.aliases, **scope.aliases}) for c in scope.calls):
                seen.add(_relative(path).split("/")[0])
    assert {"graph", "loaders", "bench"} <= seen, seen


@pytest.mark.parametrize("relative", [_relative(p) for p in python_files()])
def test_no_cypher_statement_is_assembled_where_it_is_sent(relative: str) -> None:
    found = offenders_in((ROOT / relative).read_text(encoding="utf-8"), relative)
    assert not found, "Cypher assembled from strings where it is sent:\n" + "\n".join(map(str, found))


CHECKER_EXAMPLES: dict[str, bool] = {
    # f-strings, concatenation, % and .format()/.join(), directly or through a name: refused.
    'def f(driver, label):\n    driver.execute_query(f"MATCH (n:{label}) RETURN n")\n': True,
    'def f(session, label):\n    session.run("MATCH (n:" + label + ") RETURN n")\n': True,
    'def f(tx, label):\n    tx.run("MATCH (n:%s) RETURN n" % label)\n': True,
    'def f(session, label):\n    session.run("MATCH (n:{}) RETURN n".format(label))\n': True,
    'def f(session, parts):\n    session.run(" ".join(parts))\n': True,
    'def f(driver, label):\n    text = f"MATCH (n:{label}) RETURN n"\n    driver.execute_query(text)\n': True,
    'def f(driver, label):\n    q = "MATCH (n"\n    q += label\n    driver.execute_query(query_=q)\n': True,
    'import neo4j\ndef f(label):\n    return neo4j.Query(f"MATCH (n:{label}) RETURN n")\n': True,
    'from neo4j import Query\ndef f(label):\n    return Query("MATCH (n:" + label + ")")\n': True,
    'def f(store, kind):\n    store.write_rows(f"load/merge_{kind}", [])\n': True,
    'def f(self, name):\n    self.store.read("query/" + name)\n': True,
    'def f(store, label):\n    run = store.driver.execute_query\n    run(f"MATCH (n:{label})")\n': True,
    'def f(driver, x):\n    driver.execute_query("RETURN 1" if x else f"RETURN {x}")\n': True,
    # Literals, parameters, catalog names and compiled statements: accepted.
    'def f(driver, label):\n    driver.execute_query("MATCH (n) WHERE $l IN labels(n)", l=label)\n': False,
    'def f(store):\n    store.read("profiles/read/get_user", userId="u1")\n': False,
    "def f(driver, statement):\n    driver.execute_query(Query(statement.text), statement.params)\n": False,
    'def f(session, name):\n    session.run(Query(cypher(name)), {"a": 1})\n': False,
    'TEXT = {"a": "RETURN 1"}\ndef f(driver, k):\n    driver.execute_query(TEXT[k])\n': False,
    'def f(label):\n    subprocess.run(f"echo {label}")\n    loader.run(f"{label}")\n': False,
    'def f(x):\n    text = f"hello {x}"\n    print(text)\n': False,
}


@pytest.mark.parametrize(
    ("source", "refused"), list(CHECKER_EXAMPLES.items()), ids=range(len(CHECKER_EXAMPLES))
)
def test_the_checker_refuses_assembled_statements_and_accepts_the_rest(source: str, refused: bool) -> None:
    assert bool(offenders_in(source, "example.py")) is refused, source


# --- the audience compiler ---------------------------------------------------------------------------

STATEMENTS = ("count", "members", "breakdown", "sample", "membership")


def _definition(p: str) -> dict[str, Any]:
    """Every string value of a definition set to the payload, in every condition kind that takes one
    and under every nesting the planner treats differently (anchor, sub-audience, predicate)."""
    leaves: list[dict[str, Any]] = [
        {"tag": {"tagId": p}},
        {"acquiredVia": {"channelId": p}},
        {"attribute": {"field": "city", "op": "eq", "value": p}},
        {"attribute": {"field": "occupation", "op": "in", "value": [p, p + p]}},
        {"attribute": {"field": "rfmScore", "op": "ne", "value": p}},
        {"persona": {"in": [p]}},
        {"community": {"in": [p]}},
        {"behavior": {"action": "bought", "sku": p, "minCount": 2}},
        {"behavior": {"action": "viewed", "brand": p, "lastDays": 30}},
        {"behavior": {"action": "clicked", "category": p, "from": "2025-01-01T00:00:00Z"}},
        {"referralHops": {"userId": p, "maxHops": 2}},
        {"surveyAnswer": {"surveyId": "pulse", "questionId": p, "anyOf": [p], "lastDays": 30}},
    ]
    return {
        "and": [
            *leaves,
            {"not": {"or": leaves[:4]}},
            {"friends": {"who": {"and": leaves[:3]}, "atLeast": 2}},
            {"followers": {"who": leaves[7]}},
            {"referralHops": {"of": {"or": leaves[5:7]}, "maxHops": 1}},
        ]
    }


def _statements(p: str) -> dict[str, audience_compile.Statement]:
    root = parse_definition(_definition(p))
    now = datetime(2025, 6, 1, tzinfo=UTC)
    return {
        "count": audience_compile.count_statement(root, "marketing", now=now),
        "members": audience_compile.members_statement(root, "analysis", columns=("city",), now=now),
        "breakdown": audience_compile.breakdown_statement(root, "city", "personalised", now=now),
        "sample": audience_compile.sample_statement(root, "marketing", now=now),
        "membership": audience_compile.membership_statement(root, "marketing", now=now),
    }


def _flat(value: Any) -> list[Any]:
    return [x for v in value for x in _flat(v)] if isinstance(value, list | tuple) else [value]


# Payloads the compiler can receive: the definition model keeps keys to 200 characters of text (a lone
# surrogate is not text: refused before compiling).
COMPILABLE = [
    p for p in PAYLOADS if 0 < len(p) <= 100 and p.strip() and p.encode("utf-8", "ignore").decode() == p
]


@pytest.mark.parametrize("payload", COMPILABLE, ids=range(len(COMPILABLE)))
def test_the_audience_compiler_puts_no_user_string_into_cypher_text(payload: str) -> None:
    baseline = _statements("zzzz-marker")
    for name, statement in _statements(payload).items():
        # The text is the same whatever the payload: values only ever become $parameters.
        assert statement.text == baseline[name].text, name
        assert payload not in statement.text or payload in baseline[name].text, name
        values = [v for param in statement.params.values() for v in _flat(param)]
        assert payload in values or payload.lower() in values, (name, payload)

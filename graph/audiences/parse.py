"""Parse and check audience definitions: JSON in, a validated tree out, or every problem with its path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from personagraph.graph.audiences.model import (
    ADAPTER,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_RELATIONAL_DEPTH,
    NODE_TYPES,
    RELATIONAL_KINDS,
    AudienceDefinitionError,
    Condition,
    kind_of,
)


def format_path(loc: tuple[int | str, ...]) -> str:
    """``('and', 'and', 1, 'attribute', 'attribute', 'field')`` -> ``and[1].attribute.field``."""
    parts: list[str] = []
    i = 0
    while i < len(loc):
        item = loc[i]
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            name = (
                "from"
                if item == "from_"
                else item.removesuffix("_")
                if item in ("and_", "or_", "not_", "in_")
                else item
            )
            parts.append(("." if parts else "") + name)
            if item in NODE_TYPES and i + 1 < len(loc) and loc[i + 1] in (item, f"{item}_"):
                i += 1  # the union's tag repeats the key it names
        i += 1
    return "".join(parts) or "definition"


def _json_depth_problem(data: Any) -> str | None:
    """Refuse absurd nesting before pydantic recurses into it."""
    limit = 2 * MAX_DEPTH + 6
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        value, loc = stack.pop()
        if len(loc) > limit:
            return f"{format_path(loc)}: nested more than {MAX_DEPTH} conditions deep"
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        stack.extend((v, (*loc, k)) for k, v in items)
    return None


def _tree_problems(root: Condition) -> list[str]:
    """Depth, relational nesting and size limits over the validated tree."""
    problems: list[str] = []
    count = 0
    stack: list[tuple[Condition, int, int, str]] = [(root, 1, 0, "")]
    while stack:
        node, depth, relational, path = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            problems.append(f"{path or 'definition'}: nested more than {MAX_DEPTH} conditions deep")
            continue
        if kind_of(node) in RELATIONAL_KINDS:
            relational += 1
            if relational > MAX_RELATIONAL_DEPTH:
                problems.append(
                    f"{path or 'definition'}: relational conditions ({', '.join(RELATIONAL_KINDS)}) nested "
                    f"more than {MAX_RELATIONAL_DEPTH} deep; each level multiplies the work by every "
                    "member's ties"
                )
                continue
        for i, child in enumerate(node.children()):
            stack.append((child, depth + 1, relational, _child_path(node, path, i)))
    if count > MAX_CONDITIONS:
        problems.append(f"definition: {count} conditions, more than the {MAX_CONDITIONS} allowed")
    return problems


def _child_path(node: Condition, path: str, index: int) -> str:
    kind = kind_of(node)
    prefix = f"{path}." if path else ""
    if kind in ("and", "or"):
        return f"{prefix}{kind}[{index}]"
    if kind == "not":
        return f"{prefix}not"
    return f"{prefix}{kind}.{'of' if kind == 'referralHops' else 'who'}"


def parse_definition(data: str | bytes | Mapping[str, Any] | Condition) -> Condition:
    """A validated tree from JSON text, a parsed mapping, or a tree already built."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise AudienceDefinitionError([f"definition: not valid JSON ({exc})"]) from exc
    if not isinstance(data, BaseModel):
        problem = _json_depth_problem(data)
        if problem:
            raise AudienceDefinitionError([problem])
    try:
        root = ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise AudienceDefinitionError(
            [f"{format_path(e['loc'])}: {_message(e['msg'])}" for e in exc.errors()]
        ) from exc
    problems = _tree_problems(root)
    if problems:
        raise AudienceDefinitionError(problems)
    return root


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ").replace("Extra inputs are not permitted", "unknown field")


def definition_json(root: Condition) -> str:
    """Canonical JSON of a tree (aliases, no unset optionals), e.g. to store a saved audience."""
    return ADAPTER.dump_json(root, by_alias=True, exclude_none=True).decode("utf-8")

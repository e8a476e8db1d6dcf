"""What every load path decides the same way about a row: when it is an exact copy of an earlier one,
why a record model refused it, and whether it names a user who asked to be forgotten."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import ValidationError

from personagraph.graph.entities import EntityKind, Row
from personagraph.graph.privacy.forget import SuppressionList, words_of
from personagraph.graph.records import ANSWER_SEPARATOR


def row_digest(raw: dict[str, Any]) -> bytes:
    """What tells a row from an exact copy of it (the later copies are dropped and counted)."""
    return hashlib.blake2b(json.dumps(raw, sort_keys=True, default=str).encode(), digest_size=8).digest()


def model_problem(exc: ValidationError) -> tuple[str, str]:
    """The column a record model refused (``row`` for the row as a whole) and why: a reject's column and
    reason."""
    error = exc.errors()[0]
    return ".".join(str(p) for p in error["loc"]) or "row", error["msg"]


def unknown_reference(column: str, value: object, target: str) -> str:
    """Why a row naming a key that no node of ``target`` (users, products, ...) holds is rejected; for an
    answer (graph/entities.py), why it does not fit its question."""
    if target == "answers":
        question, _, answer = str(value).partition(ANSWER_SEPARATOR)
        return f"answer {answer!r} is not on question {question!r}'s scale (or not one of its options)"
    return f"unknown {column} {value!r}: no such {target[:-1]}"


def reference_value(target: str, value: object) -> object:
    """The value a reject of an unknown reference shows: the key, or for an answer the answer alone."""
    if target == "answers" and isinstance(value, str):
        return value.partition(ANSWER_SEPARATOR)[2]
    return value


def user_columns(kind: EntityKind) -> tuple[str, ...]:
    """The input columns naming a user (a users file's own key too), in the order they are checked."""
    return tuple(dict.fromkeys(ref.column for ref in kind.user_fields))


def is_search(kind: EntityKind, raw_kind: object) -> bool:
    """Whether an events row (its ``kind`` value as read) is a search, whose target is free text."""
    return kind.name == "events" and str(raw_kind or "").strip().lower() == "search"


def names_forgotten(text: str, suppression: SuppressionList) -> bool:
    """Whether free text (a search) names a forgotten user by one of its words."""
    return any(word in suppression for word in words_of(text))


def forgotten_in_raw(kind: EntityKind, raw: dict[str, Any], suppression: SuppressionList) -> str | None:
    """The column of a row as read that names a forgotten user (``row`` for a JSONL line that is no
    object and names one by a word), else None. Checked before validation: a forgotten user's invalid
    row is not copied out either."""
    line_text = raw.get("__line__")
    if isinstance(line_text, str) and any(word in suppression for word in _line_words(line_text)):
        return "row"
    for column in user_columns(kind):
        value = raw.get(column)
        if value is not None and str(value).strip() in suppression:
            return column
    if is_search(kind, raw.get("kind")):
        target = raw.get("target")
        if isinstance(target, str) and names_forgotten(target, suppression):
            return "target"
    return None


def forgotten_in_row(kind: EntityKind, statement: str, row: Row, suppression: SuppressionList) -> str | None:
    """The column of a validated row that names a forgotten user, else None."""
    for ref in kind.user_fields:
        user_id = ref.key(statement, row)
        if user_id is not None and user_id in suppression:
            return ref.column
    return None


def _line_words(text: str) -> set[str]:
    """The words of a raw line that could be an id: runs between JSON punctuation and spaces, and their
    ``words_of`` parts."""
    found: set[str] = set()
    for word in re.split(r'[\s"{}\[\],:]+', text):
        if word:
            found |= {word} | words_of(word)
    return found

"""Keyset paging shared by the typed reads: page bounds, opaque cursors and the page type.

Cursors are keyset positions (the sort key of the last item), never offsets, so a row inserted
before the position does not shift or repeat the next page. They are opaque to clients: urlsafe
base64 of a versioned JSON list that starts with the kind of list they page, so a cursor of the
orders list is refused by the friends list instead of silently paging from a wrong key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from personagraph.graph.errors import PersonaGraphError

T = TypeVar("T")

MAX_PAGE = 100
MAX_CURSOR_CHARS = 2000  # a cursor we issue is far shorter; anything longer is not ours
_VERSION = "pg1"


class InvalidPageError(PersonaGraphError):
    """A paging argument is out of range or a cursor was not issued by this API.

    The message starts with the argument's name (``first: ...``, ``after: ...``) so the API can
    report it against the right field.
    """


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paged list; pass ``end_cursor`` as ``after`` to get the next page."""

    items: list[T]
    end_cursor: str | None
    has_next: bool
    total: int  # items over all pages for the owner, so clients can show "12 of 340"


def check_range(name: str, value: int, *, low: int, high: int) -> int:
    """``value`` if it is an int within [low, high]; else an error naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidPageError(f"{name}: must be between {low} and {high}, got {value!r}")
    return value


def check_first(first: int, *, cap: int = MAX_PAGE) -> int:
    """A page size the server is willing to serve: 1..cap."""
    return check_range("first", first, low=1, high=cap)


def encode_cursor(kind: str, *parts: str | int) -> str:
    """An opaque cursor for the key ``parts`` of a list of ``kind`` (e.g. "orders")."""
    payload = orjson.dumps([_VERSION, kind, *(str(p) for p in parts)])  # compact, as json.dumps' separators
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str, *, argument: str = "after") -> list[str]:
    """The key parts of a cursor ``encode_cursor(kind, ...)`` issued; anything else is refused."""
    parts = _payload(cursor)
    if parts is None or len(parts) < 2 or parts[0] != _VERSION or parts[1] != kind:
        raise InvalidPageError(f"{argument}: not a cursor this API issued for {kind}")
    return parts[2:]


def decode_key(kind: str, cursor: str | None, *, argument: str = "after") -> str:
    """The one key of a cursor ``encode_cursor(kind, key)`` issued ('' without a cursor: from the
    start, as '' sorts before every id); anything else is refused."""
    if cursor is None:
        return ""
    parts = decode_cursor(kind, cursor, argument=argument)
    if len(parts) != 1:
        raise InvalidPageError(f"{argument}: not a cursor this API issued for {kind}")
    return parts[0]


def _payload(cursor: str) -> list[str] | None:
    """The decoded list of strings, or None for anything that is not one."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_CHARS:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    return value

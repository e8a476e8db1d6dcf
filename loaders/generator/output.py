"""CSV sinks that slip in deliberately bad rows and remember their line numbers, and the truth files."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import numpy as np

HEADERS: dict[str, tuple[str, ...]] = {
    "channels.csv": ("channel_id", "name", "kind"),
    "products.csv": ("sku", "name", "brand", "category", "price", "currency"),
    "users.csv": (
        "user_id",
        "gender",
        "birth_year",
        "occupation",
        "education",
        "income_band",
        "city",
        "region",
        "country",
        "marketing_consent",
        "personalization_opt_out",
        "acquired_via",
        "acquired_at",
    ),
    "identities.csv": ("user_id", "kind", "value"),
    "tags.csv": ("tag_id", "name", "tier", "parent_id", "description"),
    "user_tags.csv": ("user_id", "tag_id", "weight", "source", "assigned_at", "expires_at"),
    "orders.csv": ("order_id", "user_id", "sku", "ordered_at", "quantity", "unit_price", "channel_id"),
    "events.csv": ("event_id", "user_id", "kind", "at", "target", "channel_id"),
    "ties.csv": ("src_user_id", "dst_user_id", "kind", "since"),
}
# Survey files (loaders/generator/surveys.py), written to a folder of their own.
SURVEY_HEADERS: dict[str, tuple[str, ...]] = {
    "surveys.csv": ("survey_id", "title", "question_id", "question", "scale", "options", "position"),
    "survey_answers.csv": ("user_id", "survey_id", "question_id", "answer", "answered_at", "channel_id"),
}

GHOST_USER, GHOST_SKU, SELF = "<ghost-user>", "<ghost-sku>", "<self>"
# What may go wrong in a row of each file: (column, bad value). Each is invalid or names nothing that exists.
FAULTS: dict[str, tuple[tuple[str, str], ...]] = {
    "channels.csv": (("kind", "spaceship"), ("channel_id", "")),
    "products.csv": (("price", "-5.00"), ("sku", ""), ("price", "cheap")),
    "users.csv": (
        ("birth_year", "1700"),
        ("user_id", ""),
        ("acquired_at", "not-a-date"),
        ("marketing_consent", "maybe"),
        ("acquired_via", "nowhere"),
    ),
    "identities.csv": (("user_id", GHOST_USER), ("kind", "e-mail!"), ("value", "")),
    "tags.csv": (("tier", "behaviour"), ("tag_id", "")),
    "user_tags.csv": (
        ("weight", "1.7"),
        ("tag_id", "no-such-tag"),
        ("user_id", GHOST_USER),
        ("assigned_at", "never"),
    ),
    "orders.csv": (
        ("quantity", "-2"),
        ("sku", GHOST_SKU),
        ("ordered_at", "yesterday"),
        ("user_id", GHOST_USER),
        ("unit_price", "-1.00"),
        ("order_id", ""),
    ),
    "events.csv": (("kind", "teleport"), ("at", "31/02/2024 25:61"), ("target", ""), ("user_id", GHOST_USER)),
    "ties.csv": (("dst_user_id", GHOST_USER), ("kind", "enemy"), ("since", "someday"), ("dst_user_id", SELF)),
    "surveys.csv": (("scale", "stars"),),
    "survey_answers.csv": (
        ("answer", "11"),  # on no question's scale, and no option
        ("question_id", "no-such-question"),
        ("user_id", GHOST_USER),
        ("answered_at", "someday"),
    ),
}
# A bad row of an entity file gets a key of its own, so good rows keep unique keys.
FRESH_KEYS = {
    "channels.csv": "channel_id",
    "products.csv": "sku",
    "users.csv": "user_id",
    "tags.csv": "tag_id",
}


class Sink:
    """One CSV file being written; counts lines so each bad row is recorded by its 1-based line number."""

    def __init__(
        self, folder: Path, name: str, ghosts: tuple[Callable[[int], str], Callable[[int], str]]
    ) -> None:
        self.name, self.header = name, HEADERS.get(name) or SURVEY_HEADERS[name]
        self.ghost_user, self.ghost_sku = ghosts  # a running number -> a user id / sku that does not exist
        self.handle: IO[str] = (folder / name).open("w", encoding="utf-8", newline="")
        self.handle.write(",".join(self.header) + "\n")
        self.lines = 1
        self.bad: list[int] = []

    @property
    def rows(self) -> int:
        return self.lines - 1

    def write(
        self, rng: np.random.Generator, rows: list[str], share: float, at_least_one: bool = False
    ) -> None:
        """Write `rows` with about `share` of bad rows (copies of good ones, one field broken) among them."""
        expected = share * len(rows)
        count = math.floor(expected) + int(rng.random() < expected - math.floor(expected))
        count = max(count, int(at_least_one and share > 0)) if rows else 0
        templates = (
            rng.choice(len(rows), count, replace=count > len(rows)) if count else np.zeros(0, np.int64)
        )
        seen: set[str] = set()
        bad = [self._break(rng, rows[t], seen) for t in templates.tolist()]
        slots = np.sort(rng.integers(0, len(rows) + 1, count)).tolist()
        done = 0
        for j, slot in enumerate(slots):
            self._lines(rows[done:slot])
            self.bad.append(self.lines + 1)
            self._lines([bad[j]])
            done = slot
        self._lines(rows[done:] if done else rows)

    def _lines(self, rows: list[str]) -> None:
        if rows:
            self.handle.write("\n".join(rows))
            self.handle.write("\n")
            self.lines += len(rows)

    def _break(self, rng: np.random.Generator, row: str, seen: set[str]) -> str:
        fields = row.split(",")
        if len(fields) != len(self.header):
            raise AssertionError(f"{self.name}: generated row has a comma inside a value: {row!r}")
        number = len(self.bad) + len(seen)
        if self.name in FRESH_KEYS:
            fields[self.header.index(FRESH_KEYS[self.name])] = self._fresh_key(number)
        elif self.name in ("orders.csv", "events.csv"):
            fields[0] += "x"  # its own order / event: the good row it was copied from stays whole
        faults = FAULTS[self.name]
        first = int(rng.integers(0, len(faults)))
        for k in range(len(faults)):
            column_name, value = faults[(first + k) % len(faults)]
            broken = list(fields)
            broken[self.header.index(column_name)] = self._resolve(value, fields, number)
            text = ",".join(broken)
            if text not in seen:  # an exact copy would count as a duplicate, not as a bad row
                break
        seen.add(text)
        return text

    def _fresh_key(self, number: int) -> str:
        if self.name == "users.csv":
            return self.ghost_user(number)
        if self.name == "products.csv":
            return self.ghost_sku(number)
        return f"bad-{self.name.removesuffix('.csv')}-{number}"

    def _resolve(self, value: str, fields: list[str], number: int) -> str:
        if value == GHOST_USER:
            return self.ghost_user(number)
        if value == GHOST_SKU:
            return self.ghost_sku(number)
        return fields[0] if value == SELF else value

    def close(self) -> None:
        self.handle.close()


class JsonObjectFile:
    """Streams one JSON object, an entry per line, so a value per user never sits in memory at once."""

    def __init__(self, path: Path) -> None:
        self.handle: IO[str] = path.open("w", encoding="utf-8")
        self.handle.write("{")
        self.count = 0

    def add_entries(self, entries: Iterable[tuple[str, Any]]) -> None:
        """Append entries in order (one write per call, not per entry)."""
        parts = []
        for key, value in entries:
            parts.append(f"{',' if self.count else ''}\n {json.dumps(key)}: {json.dumps(value)}")
            self.count += 1
        self.handle.write("".join(parts))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.handle.write("\n}\n")
        self.handle.close()


class CommunityFile(JsonObjectFile):
    """Streams `truth/communities.json`, one community at a time, so 1M members never sit in memory."""

    def add(self, members: list[list[str]]) -> None:
        first = self.count + 1
        self.add_entries((f"c{first + k:06d}", ids) for k, ids in enumerate(members))


def write_json(path: Path, value: dict[str, Any] | list[Any]) -> None:
    """JSON with one entry per line: diffable, and still one `json.load` away."""
    if isinstance(value, dict):
        body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in value.items())
        text = "{\n" + body + "\n}\n" if value else "{}\n"
    else:
        text = "[\n" + ",\n".join(f" {json.dumps(v)}" for v in value) + "\n]\n" if value else "[]\n"
    path.write_text(text, encoding="utf-8")

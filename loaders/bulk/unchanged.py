"""Rows that would change nothing: an incremental load repeats most of what the graph holds (a daily
export sends every customer again), and writing a row again costs Neo4j what writing it the first time
did. The graph's current state of what a file names is read once, in the rows' own shape, and a row that
matches it is left out of the writes; the graph ends exactly as if it were written (docs/data-format.md).

A row is left out only when every row of the file with its key (the node or relationship it writes; for
orders, the order) matches: a key whose rows differ from the graph keeps all of them, so they still apply
in file order.
Whatever cannot be compared (a placeholder user, a value of another type) reads as missing, and is
written."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import polars as pl

from personagraph.graph.entities import EntityKind
from personagraph.graph.store import GraphStore
from personagraph.loaders.bulk.validate import USER_PROPS

CHUNK = 20_000  # keys per read, at most
MIN_KEYS, PARTS = 2_000, 8
NOW = "__now"  # suffix of the graph's value beside the row's
FOUND = "__found"
PART = "__part"


def same(column: str) -> pl.Expr:
    """The row sets ``column`` as given (a null removes it): it matches when both are equal or both null."""
    return pl.col(column).eq_missing(pl.col(column + NOW))


def kept_when_null(column: str) -> pl.Expr:
    """A null ``column`` leaves the graph's value as it is (``SET n += props``, a consent flag not given)."""
    return pl.col(column).is_null() | same(column)


@dataclass(frozen=True)
class Current:
    """How to read the graph's state of a kind's rows, and when a row matches it."""

    statement: str  # catalog read: $keys (values of ``by``) -> rows: list of [``columns`` ...]
    by: str  # the column whose values the read takes
    key: tuple[str, ...]  # the columns naming what a row writes
    columns: tuple[str, ...]  # the read's row, in order: ``key`` columns, then the values compared
    matches: pl.Expr  # true when a row writes nothing new (its key found; graph values suffixed NOW)
    # the columns whose rows are written together when one of them differs (default ``key``): an order's
    # lines share the order's time and who placed it, and the last row given sets them
    group: tuple[str, ...] = ()


CURRENT: dict[str, Current] = {
    "ties": Current(
        "profiles/read/current_ties",
        by="src",
        key=("route", "src", "dst"),
        columns=("route", "src", "dst", "since"),
        matches=same("since"),
    ),
    "orders": Current(
        "events/read/current_order_lines",
        by="orderId",
        key=("orderId", "lineId", "sku"),
        columns=(
            "orderId",
            "lineId",
            "sku",
            "plain",
            "userId",
            "orderedAt",
            "quantity",
            "unitPrice",
            "channelId",
        ),
        matches=pl.col("plain" + NOW).fill_null(False)
        & same("userId")
        & same("orderedAt")
        & same("quantity")
        & same("unitPrice")
        & kept_when_null("channelId"),  # VIA is added to, never removed
        group=("orderId",),
    ),
    "events": Current(
        "events/read/current_event_keys",
        by="userId",
        key=("route", "userId", "target", "key"),
        columns=("route", "userId", "target", "key"),
        matches=pl.lit(True),  # an event key its edge holds: merge_events_* skip it
    ),
    "identities": Current(
        "profiles/read/current_identities",
        by="userId",
        key=("userId", "kind", "value"),
        columns=("userId", "kind", "value", "adKeys"),
        # the graph's keys read null when the user lacks advertising consent and the identity holds none
        matches=pl.col("adKeys" + NOW).is_null() | same("adKeys"),
    ),
    "user_tags": Current(
        "tags/read/current_user_tags",
        by="userId",
        key=("userId", "tagId"),
        columns=("userId", "tagId", "weight", "source", "assignedAt", "expiresAt"),
        # a row without assignedAt keeps the tag's time (merge_user_tags: coalesce), which exists
        matches=same("weight")
        & same("source")
        & same("expiresAt")
        & (same("assignedAt") | pl.col("assignedAt").is_null() & pl.col("assignedAt" + NOW).is_not_null()),
    ),
    "users": Current(
        "profiles/read/current_users",
        by="userId",
        key=("userId",),
        columns=(
            "userId",
            "plain",
            *USER_PROPS,
            "marketingConsent",
            "personalizationOptOut",
            "acquiredVia",
            "acquiredAt",
        ),
        # a flag equal to the graph's records no consent change (merge_users), one not given none either
        matches=pl.col("plain" + NOW).fill_null(False)
        & pl.all_horizontal(
            kept_when_null(c) for c in (*USER_PROPS, "marketingConsent", "personalizationOptOut")
        )
        & (pl.col("acquiredVia").is_null() | same("acquiredVia") & same("acquiredAt")),
    ),
}


def changed_parts(
    store: GraphStore, kind: EntityKind, rows: pl.DataFrame
) -> Iterator[tuple[pl.DataFrame, int]]:
    """``rows`` (validated, references checked, in file order) in parts, each without the rows that would
    change nothing, with how many rows the part held before. A part holds the rows of up to CHUNK values
    of the read's ``by`` column (in their sorted order; fewer when the file names few), so every row of a
    key (and of a group) is in one part, in file order; the graph's state of the next part is read (in a
    thread of its own) while the caller writes this one. Kinds without a ``CURRENT`` entry come back
    whole."""
    current = CURRENT.get(kind.name)
    if current is None or rows.is_empty():
        yield rows, rows.height
        return
    keys = rows.get_column(current.by).n_unique()
    # at least PARTS parts (of MIN_KEYS keys or more), so even a small file's writes start after a small read
    per_part = min(CHUNK, max(MIN_KEYS, -(-keys // PARTS)))
    chunk = ((pl.col(current.by).rank("dense") - 1) // per_part).alias(PART)
    by_index = rows.with_columns(chunk).partition_by(
        PART, as_dict=True, include_key=False, maintain_order=True
    )
    parts = [by_index[index] for index in sorted(by_index, key=lambda k: k[0])]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-current") as reader:
        ahead = reader.submit(_changed, store, current, parts[0])
        for number, part in enumerate(parts):
            changed = ahead.result()
            if number + 1 < len(parts):
                ahead = reader.submit(_changed, store, current, parts[number + 1])
            yield changed, part.height


def _changed(store: GraphStore, current: Current, rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` without those whose whole group matches the graph."""
    found = _read(store, current, rows)
    if found.is_empty():
        return rows
    joined = rows.join(found, on=list(current.key), how="left", suffix=NOW)
    unmatched = ~(pl.col(FOUND).fill_null(False) & current.matches.fill_null(False))
    group = list(current.group or current.key)
    changed = joined.filter(unmatched).select(group).unique()
    return rows.join(changed, on=group, how="semi", maintain_order="left")


def _read(store: GraphStore, current: Current, rows: pl.DataFrame) -> pl.DataFrame:
    """The graph's rows for the keys ``rows`` name (at most CHUNK), typed as ``rows`` (a value that does
    not cast reads as null, which a row given that value does not match)."""
    keys = rows.get_column(current.by).unique().sort().to_list()
    names = [c if c in current.key else c + NOW for c in current.columns]
    types = {c if c in current.key else c + NOW: rows.schema[c] for c in current.columns if c in rows.schema}
    read = store.read(current.statement, keys=keys)[0]["rows"]
    found = pl.DataFrame(read, schema=names, orient="row", infer_schema_length=None, strict=False)
    found = found.with_columns(pl.col(name).cast(dtype, strict=False) for name, dtype in types.items())
    # one row per key: a key the graph holds twice (not made by a load) reads as missing
    found = found.filter(pl.len().over(list(current.key)) == 1)
    return found.with_columns(pl.lit(True).alias(FOUND))

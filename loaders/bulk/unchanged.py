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

from dataclasses import dataclass

import polars as pl

from personagraph.graph.entities import EntityKind
from personagraph.graph.store import GraphStore
from personagraph.loaders.bulk.frames import LINE
from personagraph.loaders.bulk.validate import USER_PROPS

CHUNK = 20_000  # keys per read
NOW = "__now"  # suffix of the graph's value beside the row's
FOUND = "__found"


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
    "identities": Current(
        "profiles/read/current_identities",
        by="userId",
        key=("userId", "kind", "value"),
        columns=("userId", "kind", "value"),
        matches=pl.lit(True),
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


def drop_unchanged(store: GraphStore, kind: EntityKind, rows: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``rows`` (validated, references checked, in file order) without those that would change nothing,
    and how many were left out. Kinds without a ``CURRENT`` entry come back whole."""
    current = CURRENT.get(kind.name)
    if current is None or rows.is_empty():
        return rows, 0
    found = _read(store, current, rows)
    if found.is_empty():
        return rows, 0
    joined = rows.join(found, on=list(current.key), how="left", suffix=NOW)
    unmatched = ~(pl.col(FOUND).fill_null(False) & current.matches.fill_null(False))
    group = list(current.group or current.key)
    changed = joined.filter(unmatched).select(group).unique()
    kept = rows.join(changed, on=group, how="semi").sort(LINE)
    return kept, rows.height - kept.height


def _read(store: GraphStore, current: Current, rows: pl.DataFrame) -> pl.DataFrame:
    """The graph's rows for the keys ``rows`` name, typed as ``rows`` (a value that does not cast reads
    as null, which a row given that value does not match)."""
    keys = rows.get_column(current.by).unique().sort().to_list()
    names = [c if c in current.key else c + NOW for c in current.columns]
    types = {c if c in current.key else c + NOW: rows.schema[c] for c in current.columns if c in rows.schema}
    parts = []
    for start in range(0, len(keys), CHUNK):  # a frame per read: the driver's lists are let go as it goes
        read = store.read(current.statement, keys=keys[start : start + CHUNK])[0]["rows"]
        part = pl.DataFrame(read, schema=names, orient="row", infer_schema_length=None, strict=False)
        parts.append(
            part.with_columns(pl.col(name).cast(dtype, strict=False) for name, dtype in types.items())
        )
    found = pl.concat(parts, how="vertical_relaxed")  # ``rows`` is not empty: one read at least
    # one row per key: a key the graph holds twice (not made by a load) reads as missing
    found = found.filter(pl.len().over(list(current.key)) == 1)
    return found.with_columns(pl.lit(True).alias(FOUND))

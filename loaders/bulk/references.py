"""Check a file's validated rows against the keys they name, all at once: a row naming a user, product,
channel or tag that is not known is rejected (with the row-by-row loader's reason), or, with
``create_missing``, its key becomes a placeholder. The keys known are the caller's: those loaded before
in the same load (the initial load) or those the graph holds (an incremental load)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import polars as pl

from personagraph.graph.entities import EntityKind
from personagraph.graph.kinds import EventKind
from personagraph.loaders.bulk.frames import LINE
from personagraph.loaders.bulk.validate import Reject, Validated
from personagraph.loaders.rows import reference_value, unknown_reference


def check_references(
    kind: EntityKind,
    validated: Validated,
    known: Mapping[str, Collection[str]],
    *,
    create_missing: bool,
) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """The rows whose references name known keys, and the keys to make placeholders of per target
    (``create_missing``; none otherwise). The other rows are rejected: appended to ``validated.rejects``,
    naming the first reference (in ``kind.references`` order) that names nothing and is not made a
    placeholder (a survey question or answer never is: ``Reference.placeholder``)."""
    rows = validated.rows
    made: dict[str, list[str]] = {}
    problem = pl.lit(None, dtype=pl.Int64)
    refs = reference_columns(kind)
    keys: dict[str, pl.Series] = {}  # per target, while no placeholder is added to it
    for index, (_, target, field_name, applies) in enumerate(refs):
        if target not in keys:
            keys[target] = pl.Series([*known.get(target, ()), *made.get(target, ())], dtype=pl.String)
        value = pl.col(field_name)
        missing = value.is_not_null() & ~value.is_in(keys[target].implode()) & applies
        if create_missing and kind.references[index].placeholder:
            new = rows.filter(missing).get_column(field_name).unique(maintain_order=True).to_list()
            if new:
                made.setdefault(target, []).extend(new)
                keys.pop(target)
            continue
        problem = pl.when(problem.is_null() & missing).then(pl.lit(index)).otherwise(problem)
    if not refs:
        return rows, made
    marked = rows.with_columns(problem.alias("__problem"))
    bad = marked.filter(pl.col("__problem").is_not_null())
    if bad.height:
        raw = validated.raw_rows(bad.get_column(LINE).to_list())
        for row in bad.iter_rows(named=True):
            column, target, field_name, _ = refs[row["__problem"]]
            value = row[field_name]
            reason = unknown_reference(column, value, target)
            shown = reference_value(target, value)
            validated.rejects.append(Reject(row[LINE], column, shown, reason, raw.get(row[LINE])))
    return marked.filter(pl.col("__problem").is_null()).drop("__problem"), made


def referenced_keys(kind: EntityKind, rows: pl.DataFrame) -> dict[str, set[str]]:
    """Per target kind, every key the rows name."""
    found: dict[str, set[str]] = {}
    for _, target, field_name, applies in reference_columns(kind):
        named = rows.filter(applies & pl.col(field_name).is_not_null()).get_column(field_name)
        found.setdefault(target, set()).update(named.unique().to_list())
    return found


def reference_columns(kind: EntityKind) -> list[tuple[str, str, str, pl.Expr]]:
    """(input column, target kind, row field, rows it applies to) per reference of ``kind``, in order."""
    fields = {
        "users": [("acquired_via", "channels", "acquiredVia")],
        "identities": [("user_id", "users", "userId")],
        "user_tags": [("user_id", "users", "userId"), ("tag_id", "tags", "tagId")],
        "orders": [
            ("user_id", "users", "userId"),
            ("sku", "products", "sku"),
            ("channel_id", "channels", "channelId"),
        ],
        "events": [
            ("user_id", "users", "userId"),
            ("target", "products", "target"),
            ("channel_id", "channels", "channelId"),
        ],
        "ties": [("src_user_id", "users", "src"), ("dst_user_id", "users", "dst")],
        "survey_answers": [
            ("user_id", "users", "userId"),
            ("question_id", "questions", "questionKey"),
            ("answer", "answers", "answerKey"),
            ("channel_id", "channels", "channelId"),
        ],
    }.get(kind.name, [])
    assert [c for c, _, _ in fields] == [r.column for r in kind.references], kind.name
    found = []
    for column, target, name in fields:
        applies = (
            pl.col("route") != EventKind.SEARCH.value
            if (kind.name, column) == ("events", "target")
            else pl.lit(True)
        )
        found.append((column, target, name, applies))
    return found

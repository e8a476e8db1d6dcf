"""Validate and transform a whole file at once, exactly as the record models (graph/records.py) do row by row.

A row whose every value has a plain form (an id of ordinary characters, a time written
``2024-01-03T17:15:28Z``, a price ``12.50``, ...) is validated and transformed by column expressions;
each plain form is one the record models accept and transform to the same value (tests/test_bulk_load.py
checks the two against each other). Every other row is validated by its record model, one by one, with
the same reject reasons. The result is each kind's rows as the merge statements take them, flattened into
columns, in file order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import polars as pl
from pydantic import ValidationError

from personagraph.graph.bounds import MAX_PRICE, MAX_QUANTITY
from personagraph.graph.entities import EntityKind, Row
from personagraph.graph.kinds import EventKind, TagSource, TieKind
from personagraph.graph.privacy.forget import REFUSED, SuppressionList
from personagraph.graph.records import RowContext, epoch_ms, hash_identity
from personagraph.loaders.bulk.frames import LINE, FileFrame, frame_rows
from personagraph.loaders.rows import (
    forgotten_in_raw,
    forgotten_in_row,
    model_problem,
    names_forgotten,
    row_digest,
    user_columns,
)

Expr = pl.Expr

# A users row's properties (UserRecord.to_row's props), in the node's column order.
USER_PROPS = (
    "gender",
    "birthYear",
    "ageBand",
    "occupation",
    "education",
    "incomeBand",
    "city",
    "region",
    "country",
)

# What a plain value may hold: no control characters, no surrounding white space (the models strip it).
CTRL = r"\x00-\x1f\x7f-\x9f"
KEY = rf"^[^\s{CTRL}=+\-@](?:[^{CTRL}]{{0,198}}[^\s{CTRL}])?$"  # an id: not a formula lead, 1-200 chars
TEXT = rf"^[^\s{CTRL}](?:[^{CTRL}]*[^\s{CTRL}])?$"
ASCII_TEXT = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"  # for values the models lower- or upper-case
TIME = r"^[1-9]\d{3}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:Z|\+00:00)?)?$"
PRICE = r"^(?:0|[1-9]\d{0,9})(?:\.\d{1,2})?$"
QUANTITY = r"^[1-9]\d{0,6}$"
WEIGHT = r"^[01](?:\.\d{1,6})?$"
IDENTITY_KIND = r"^[a-z][a-z0-9_]{0,31}$"  # as IdentityRecord.kind, already lower-case and trimmed
TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")

# Each kind's rows as its merge statement takes them, one column per field ("route" names the statement
# for kinds whose rows go to several: a tie's or an event's kind).
CATEGORY = pl.Struct({"categoryId": pl.String, "name": pl.String, "level": pl.Int64})
SCHEMAS: dict[str, dict[str, Any]] = {
    "channels": {"channelId": pl.String, "name": pl.String, "kind": pl.String},
    "products": {
        "sku": pl.String,
        "name": pl.String,
        "price": pl.Float64,
        "currency": pl.String,
        "brand": pl.String,
        "categories": pl.List(CATEGORY),
    },
    "users": {
        "userId": pl.String,
        "gender": pl.String,
        "birthYear": pl.Int64,
        "ageBand": pl.String,
        "occupation": pl.String,
        "education": pl.String,
        "incomeBand": pl.String,
        "city": pl.String,
        "region": pl.String,
        "country": pl.String,
        "acquiredVia": pl.String,
        "acquiredAt": pl.Int64,
        "marketingConsent": pl.Boolean,
        "personalizationOptOut": pl.Boolean,
        "consentAt": pl.Int64,
        "consentTimed": pl.Boolean,
    },
    "identities": {"userId": pl.String, "kind": pl.String, "value": pl.String, "adKeys": pl.List(pl.String)},
    "tags": {
        "tagId": pl.String,
        "name": pl.String,
        "tier": pl.String,
        "description": pl.String,
        "parentId": pl.String,
    },
    "user_tags": {
        "userId": pl.String,
        "tagId": pl.String,
        "weight": pl.Float64,
        "source": pl.String,
        "assignedAt": pl.Int64,
        "expiresAt": pl.Int64,
    },
    "orders": {
        "lineId": pl.String,
        "orderId": pl.String,
        "userId": pl.String,
        "sku": pl.String,
        "orderedAt": pl.Int64,
        "quantity": pl.Int64,
        "unitPrice": pl.Float64,
        "channelId": pl.String,
    },
    "events": {
        "route": pl.String,
        "userId": pl.String,
        "target": pl.String,
        "key": pl.String,
        "at": pl.Int64,
        "hour": pl.Int64,
        "channelId": pl.String,
    },
    "ties": {"route": pl.String, "src": pl.String, "dst": pl.String, "since": pl.Int64},
    # surveys and their answers are validated by their record models only (no PLAIN entry)
    "surveys": {
        "surveyId": pl.String,
        "title": pl.String,
        "questionKey": pl.String,
        "questionId": pl.String,
        "text": pl.String,
        "scale": pl.String,
        "options": pl.List(pl.String),
        "low": pl.Int64,
        "high": pl.Int64,
        "position": pl.Int64,
    },
    "survey_answers": {
        "userId": pl.String,
        "surveyId": pl.String,
        "questionId": pl.String,
        "questionKey": pl.String,
        "answer": pl.String,
        "answerKey": pl.String,
        "choices": pl.List(pl.String),
        "score": pl.Int64,
        "at": pl.Int64,
        "channelId": pl.String,
    },
}


@dataclass(frozen=True)
class Reject:
    line: int
    column: str
    value: Any
    reason: str
    raw: dict[str, Any] | None


@dataclass
class Validated:
    """A file's good rows (``rows``: the kind's SCHEMAS columns plus LINE, in file order), its rejects so
    far, and how many rows were read and dropped as exact copies of earlier ones."""

    rows: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)
    read: int = 0
    duplicates: int = 0
    source: FileFrame | None = None

    def raw_rows(self, lines: list[int]) -> dict[int, dict[str, Any]]:
        """The rows as read at ``lines``, for the rejects of later checks (references)."""
        if self.source is None:
            return {}
        wanted = set(lines)
        if self.source.frame is not None:
            found = self.source.frame.filter(pl.col(LINE).is_in(list(wanted)))
            return dict(frame_rows(found))
        return {line: raw for line, raw in self.source.rows if line in wanted}


def validate(
    found: FileFrame, kind: EntityKind, ctx: RowContext, suppression: SuppressionList | None = None
) -> Validated:
    """Validate and transform every row of ``found`` (see the module docstring). A row naming a user of
    ``suppression`` (as read, or once validated) is rejected with nothing of it copied out, as the
    row-by-row loader rejects it."""
    forgotten = suppression if suppression else None
    rejects = []
    for line, reason, raw in found.malformed:
        column = forgotten_in_raw(kind, raw, forgotten) if forgotten else None
        if column:
            rejects.append(Reject(line, column, None, REFUSED, None))
        else:
            rejects.append(Reject(line, "row", None, reason, raw))
    schema = pl.Schema({**SCHEMAS[kind.name], LINE: pl.Int64})
    frames: list[pl.DataFrame] = []
    slow: list[tuple[int, dict[str, Any]]] = []
    duplicates = 0
    if found.frame is not None:
        columns = [c for c in found.frame.columns if c != LINE]
        first = found.frame.select(pl.struct(columns).is_first_distinct()).to_series()
        duplicates = found.frame.height - int(first.sum())
        frame = found.frame.filter(first)
        if forgotten:
            frame = _refuse_forgotten(frame, kind, forgotten, rejects)
        plain = PLAIN.get(kind.name)
        if plain is not None:
            full = frame.with_columns(pl.lit("").alias(c) for c in kind.columns if c not in frame.columns)
            ok, values = plain(ctx)
            done = full.with_columns(ok.alias("__ok"))
            good = done.filter(pl.col("__ok")).select(*values, pl.col(LINE))
            frames.append(good.select(list(schema)).cast(schema))
            slow.extend(frame_rows(done.filter(~pl.col("__ok")).select(frame.columns)))
        else:
            slow.extend(frame_rows(frame))
    else:
        seen: set[bytes] = set()
        for line, raw in found.rows:
            digest = row_digest(raw)
            if digest in seen:
                duplicates += 1
                continue
            seen.add(digest)
            column = forgotten_in_raw(kind, raw, forgotten) if forgotten else None
            if column:
                rejects.append(Reject(line, column, None, REFUSED, None))
            else:
                slow.append((line, raw))
    flat: list[dict[str, Any]] = []
    for line, raw in slow:
        try:
            record = kind.model.model_validate(raw)
        except ValidationError as exc:
            name, reason = model_problem(exc)
            rejects.append(Reject(line, name, raw.get(name), reason, raw))
            continue
        row, statement = record.to_row(ctx), kind.statement_for(record)
        column = forgotten_in_row(kind, statement, row, forgotten) if forgotten else None
        if column:
            rejects.append(Reject(line, column, None, REFUSED, None))
            continue
        flat.append({**FLATTEN[kind.name](statement, row), LINE: line})
    if flat:
        frames.append(pl.DataFrame(flat, schema=schema))
    rows = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    if len(frames) > 1:
        rows = rows.sort(LINE)
    return Validated(rows, rejects, found.read, duplicates, found)


def _refuse_forgotten(
    frame: pl.DataFrame, kind: EntityKind, suppression: SuppressionList, rejects: list[Reject]
) -> pl.DataFrame:
    """``frame`` (text as read) without the rows naming a forgotten user, each rejected as
    ``forgotten_in_raw`` rejects it: the first user column naming one, else a search's target."""
    problem = pl.lit(None, dtype=pl.String)
    for column in user_columns(kind):
        if column not in frame.columns:
            continue
        values = frame.get_column(column).unique().drop_nulls().to_list()
        named = [v for v in values if v.strip() in suppression]
        if named:
            hit = pl.col(column).is_in(named)
            problem = pl.when(problem.is_null() & hit).then(pl.lit(column)).otherwise(problem)
    if kind.name == "events" and {"kind", "target"} <= set(frame.columns):
        search = pl.col("kind").str.strip_chars().str.to_lowercase() == "search"
        targets = frame.filter(search).get_column("target").unique().drop_nulls().to_list()
        named = [t for t in targets if names_forgotten(t, suppression)]
        if named:
            hit = search & pl.col("target").is_in(named)
            problem = pl.when(problem.is_null() & hit).then(pl.lit("target")).otherwise(problem)
    marked = frame.with_columns(problem.alias("__refused"))
    refused = marked.filter(pl.col("__refused").is_not_null())
    for line, column in refused.select(LINE, "__refused").iter_rows():
        rejects.append(Reject(line, column, None, REFUSED, None))
    return marked.filter(pl.col("__refused").is_null()).drop("__refused")


def statement_rows(kind: EntityKind, rows: pl.DataFrame, ctx: RowContext) -> list[tuple[int, str, Row]]:
    """Validated rows (``Validated.rows`` or a slice of it) as (line, statement, row) in file order: each
    row as ``kind.model(...).to_row(ctx)`` gives it to ``kind.statement_for`` the record."""
    shape = UNFLATTEN[kind.name]
    found = []
    for flat in rows.to_dicts():
        line = flat.pop(LINE)
        route = flat.pop("route", None)
        statement = kind.statement if route is None else f"{kind.statement.rsplit('_', 1)[0]}_{route}"
        found.append((line, statement, shape(flat, ctx)))
    return found


def merge_users_row(row: dict[str, Any], ctx: RowContext) -> Row:
    """A users row as merge_users takes it (``UserRecord.to_row``), from its flat columns."""
    return {
        "userId": row["userId"],
        "props": _present(row, USER_PROPS),
        **{k: row[k] for k in ("acquiredVia", "acquiredAt", "marketingConsent", "personalizationOptOut")},
        "consentAt": row["consentAt"],
        "consentTimed": row["consentTimed"],
        "consentSource": row.get("consentSource", ctx.consent_source),
    }


def _present(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: row[name] for name in names if row.get(name) is not None}


# The inverse of FLATTEN: a flat row (route and LINE taken out) as the kind's statement takes it.
UNFLATTEN: dict[str, Callable[[dict[str, Any], RowContext], Row]] = {
    "channels": lambda r, c: {"channelId": r["channelId"], "props": _present(r, ("name", "kind"))},
    "products": lambda r, c: {
        "sku": r["sku"],
        "props": _present(r, ("name", "price", "currency")),
        "brand": r["brand"],
        "categories": r["categories"] or [],
    },
    "users": merge_users_row,
    "identities": lambda r, c: r,
    "tags": lambda r, c: {
        "tagId": r["tagId"],
        "props": _present(r, ("name", "tier", "description")),
        "parentId": r["parentId"],
    },
    "user_tags": lambda r, c: r,
    "orders": lambda r, c: r,
    "events": lambda r, c: r,
    "ties": lambda r, c: r,
    "surveys": lambda r, c: r,
    "survey_answers": lambda r, c: r,
}


# -- the rows of one statement, flattened -----------------------------------------------------------------


def _props(row: dict[str, Any], *names: str) -> dict[str, Any]:
    props = row.get("props", {})
    return {name: props.get(name) for name in names}


def _route(statement: str) -> str:
    return statement.rsplit("_", 1)[1]


FLATTEN: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "channels": lambda s, r: {"channelId": r["channelId"], **_props(r, "name", "kind")},
    "products": lambda s, r: {
        "sku": r["sku"],
        **_props(r, "name", "price", "currency"),
        "brand": r["brand"],
        "categories": r["categories"],
    },
    "users": lambda s, r: {
        "userId": r["userId"],
        **_props(r, *USER_PROPS),
        **{k: r[k] for k in ("acquiredVia", "acquiredAt", "marketingConsent", "personalizationOptOut")},
        "consentAt": r["consentAt"],
        "consentTimed": r["consentTimed"],
    },
    "identities": lambda s, r: dict(r),
    "tags": lambda s, r: {
        "tagId": r["tagId"],
        **_props(r, "name", "tier", "description"),
        "parentId": r["parentId"],
    },
    "user_tags": lambda s, r: dict(r),
    "orders": lambda s, r: dict(r),
    "events": lambda s, r: {"route": _route(s), **r},
    "ties": lambda s, r: {"route": _route(s), **r},
    "surveys": lambda s, r: dict(r),
    "survey_answers": lambda s, r: dict(r),
}


# -- plain values as column expressions -------------------------------------------------------------------


def _col(name: str) -> Expr:
    return pl.col(name)


def _none_if_blank(name: str) -> Expr:
    return pl.when(_col(name) == "").then(None).otherwise(_col(name))


def key(name: str) -> tuple[Expr, Expr]:
    return _col(name).str.contains(KEY), _col(name)


def ref(name: str) -> tuple[Expr, Expr]:
    return (_col(name) == "") | _col(name).str.contains(KEY), _none_if_blank(name)


def text(name: str, *, case: str | None = None, max_chars: int | None = None) -> tuple[Expr, Expr]:
    ok = _col(name).str.contains(ASCII_TEXT if case else TEXT)
    if max_chars is not None:
        ok = ok & (_col(name).str.len_chars() <= max_chars)
    value = _none_if_blank(name)
    if case == "lower":
        value = value.str.to_lowercase()
    elif case == "upper":
        value = value.str.to_uppercase()
    return (_col(name) == "") | ok, value


def enum(name: str, values: list[str], *, optional: bool) -> tuple[Expr, Expr]:
    ok = _col(name).is_in(values)
    return (ok | (_col(name) == "")) if optional else ok, _none_if_blank(name)


def flag(name: str) -> tuple[Expr, Expr]:
    lowered = _col(name).str.to_lowercase()
    ok = (_col(name) == "") | lowered.is_in([*TRUE_WORDS, *FALSE_WORDS])
    value = pl.when(lowered.is_in(TRUE_WORDS)).then(True).when(lowered.is_in(FALSE_WORDS)).then(False)
    return ok, value.otherwise(None)


def _parsed_time(name: str) -> Expr:
    c = _col(name)
    clock = pl.when(c.str.len_chars() == 10).then(pl.lit("00:00:00")).otherwise(c.str.slice(11, 8))
    joined = pl.concat_str(c.str.slice(0, 10), pl.lit("T"), clock)
    return joined.str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="ms", time_zone="UTC", strict=False)


def when(name: str, *, required: bool = False) -> tuple[Expr, Expr]:
    """A time: ``YYYY-MM-DD``, or ``YYYY-MM-DDTHH:MM:SS`` with ``Z``, ``+00:00`` or no zone (UTC), year
    1000-9998 (within the models' range); the value in epoch milliseconds."""
    c = _col(name)
    parsed = _parsed_time(name)
    ok = c.str.contains(TIME) & (c.str.slice(0, 4) != "9999") & parsed.is_not_null()
    if not required:
        ok = ok | (c == "")
    return ok, pl.when(c == "").then(None).otherwise(parsed.dt.epoch("ms"))


def iso(name: str) -> Expr:
    """The model's ``datetime.isoformat()`` of a plain time: naive stays naive, else ``+00:00``."""
    c = _col(name)
    clock = pl.when(c.str.len_chars() == 10).then(pl.lit("00:00:00")).otherwise(c.str.slice(11, 8))
    zone = pl.when(c.str.len_chars() == 19).then(pl.lit("")).otherwise(pl.lit("+00:00"))
    return pl.concat_str(c.str.slice(0, 10), pl.lit("T"), clock, zone)


def _number(name: str, pattern: str, cast: Any, low: float, high: float) -> tuple[Expr, Expr]:
    c = _col(name)
    number = c.cast(cast, strict=False)
    ok = c.str.contains(pattern) & number.is_between(low, high)
    return ok, number


def price(name: str) -> tuple[Expr, Expr]:
    ok, number = _number(name, PRICE, pl.Float64, 0, float(MAX_PRICE))
    return ok | (_col(name) == ""), pl.when(_col(name) == "").then(None).otherwise(number)


def _all(checks: list[tuple[Expr, Expr]]) -> Expr:
    ok = pl.lit(True)
    for check, _ in checks:
        ok = ok & check
    return ok.fill_null(False)


def _digest_expr(parts: list[Expr], name: str, *, unless: str) -> Expr:
    """blake2b-96 of the parts joined by \\x1f, as records._digest, for the rows whose ``unless`` column is
    blank (the others give their own key): per row in Python, there being no vector form of it."""

    def digest(texts: pl.Series) -> pl.Series:
        return pl.Series(
            [
                None if t is None else hashlib.blake2b(t.encode("utf-8"), digest_size=12).hexdigest()
                for t in texts
            ],
            dtype=pl.String,
        )

    joined = pl.when(_col(unless) == "").then(pl.concat_str(parts, separator="\x1f"))
    return joined.map_batches(digest, return_dtype=pl.String).alias(name)


# -- per kind ------------------------------------------------------------------------------------------------

AGE_BANDS = ((18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64"))


def _age_band(year: Expr) -> Expr:
    age = pl.lit(date.today().year) - year
    band: Any = pl.when(year.is_null()).then(None)
    for upper, name in AGE_BANDS:
        band = band.when(age < upper).then(pl.lit(name))
    return cast(Expr, band.otherwise(pl.lit("65+")))


def _users(ctx: RowContext) -> tuple[Expr, list[Expr]]:
    birth = _number("birth_year", r"^\d{4}$", pl.Int64, 1900, 2100)
    birth = (
        birth[0] | (_col("birth_year") == ""),
        pl.when(_col("birth_year") == "").then(None).otherwise(birth[1]),
    )
    checks = {
        "userId": key("user_id"),
        "gender": text("gender", case="lower", max_chars=200),
        "birthYear": birth,
        "occupation": text("occupation"),
        "education": text("education"),
        "incomeBand": text("income_band"),
        "city": text("city", max_chars=200),
        "region": text("region"),
        "country": text("country"),
        "marketingConsent": flag("marketing_consent"),
        "personalizationOptOut": flag("personalization_opt_out"),
        "acquiredVia": ref("acquired_via"),
        "acquiredAt": when("acquired_at"),
        "consentGiven": when("consent_updated_at"),
    }
    given = checks["consentGiven"][1]
    default_at = epoch_ms(ctx.consent_at) if ctx.consent_at else None
    values = [v.alias(n) for n, (_, v) in checks.items() if n != "consentGiven"]
    values += [
        _age_band(checks["birthYear"][1]).alias("ageBand"),
        pl.coalesce(given, pl.lit(default_at, dtype=pl.Int64)).alias("consentAt"),
        (given.is_not_null() | pl.lit(not ctx.consent_from_file)).alias("consentTimed"),
    ]
    return _all(list(checks.values())), values


def _user_tags(ctx: RowContext) -> tuple[Expr, list[Expr]]:
    weight = _number("weight", WEIGHT, pl.Float64, 0, 1)
    checks = {
        "userId": key("user_id"),
        "tagId": key("tag_id"),
        "weight": (
            weight[0] | (_col("weight") == ""),
            pl.when(_col("weight") == "").then(1.0).otherwise(weight[1]),
        ),
        "source": enum("source", [s.value for s in TagSource], optional=True),
        "assignedAt": when("assigned_at"),
        "expiresAt": when("expires_at"),
    }
    values = [v.alias(n) for n, (_, v) in checks.items()]
    values[3] = checks["source"][1].fill_null(TagSource.MANUAL.value).alias("source")
    return _all(list(checks.values())), values


def _orders(ctx: RowContext) -> tuple[Expr, list[Expr]]:
    quantity = _number("quantity", QUANTITY, pl.Int64, 1, MAX_QUANTITY)
    checks = {
        "lineGiven": ref("line_id"),
        "orderId": key("order_id"),
        "userId": key("user_id"),
        "sku": key("sku"),
        "orderedAt": when("ordered_at", required=True),
        "quantity": (
            quantity[0] | (_col("quantity") == ""),
            pl.when(_col("quantity") == "").then(1).otherwise(quantity[1]),
        ),
        "unitPrice": price("unit_price"),
        "channelId": ref("channel_id"),
    }
    digest = _digest_expr(
        [
            _col("order_id"),
            _col("sku"),
            pl.when(_col("quantity") == "").then(pl.lit("1")).otherwise(_col("quantity")),
            pl.when(_col("unit_price") == "").then(pl.lit("None")).otherwise(_col("unit_price")),
            iso("ordered_at"),
        ],
        "lineDigest",
        unless="line_id",
    )
    values = [pl.coalesce(checks["lineGiven"][1], digest).alias("lineId")]
    values += [v.alias(n) for n, (_, v) in checks.items() if n != "lineGiven"]
    return _all(list(checks.values())), values


def _ties(ctx: RowContext) -> tuple[Expr, list[Expr]]:
    checks = [
        key("src_user_id"),
        key("dst_user_id"),
        enum("kind", [k.value for k in TieKind], optional=False),
        when("since"),
    ]
    ok = _all(checks) & (_col("src_user_id") != _col("dst_user_id"))
    src, dst = _col("src_user_id"), _col("dst_user_id")
    swap = (_col("kind") == TieKind.FRIEND.value) & (dst < src)
    values = [
        _col("kind").alias("route"),
        pl.when(swap).then(dst).otherwise(src).alias("src"),
        pl.when(swap).then(src).otherwise(dst).alias("dst"),
        checks[3][1].alias("since"),
    ]
    return ok, values


def _identities(ctx: RowContext) -> tuple[Expr, list[Expr]]:
    """A kind already lower-case and a value of plain text (up to 200 characters; a phone with a digit),
    hashed as IdentityRecord.to_row hashes it (a keyed hash per value: Python, but no model)."""
    salt = ctx.identity_key()
    kind, value = _col("kind"), _col("value")
    checks = [
        key("user_id"),
        (kind.str.contains(IDENTITY_KIND), kind),
        (value.str.contains(TEXT) & (value.str.len_chars() <= 200), value),
    ]
    usable = (kind != "phone") | value.str.contains(r"\d")
    hashed = pl.struct("kind", "value").map_elements(
        lambda r: hash_identity(r["kind"], r["value"], salt), return_dtype=pl.String
    )
    # the ad-platform match keys (graph/activation/), as IdentityRecord.to_row: for consented users only
    derive, consented = ctx.match_keys, ctx.advertising_users
    keys = (
        pl.struct("user_id", "kind", "value").map_elements(
            lambda r: derive(r["kind"], r["value"]) if r["user_id"] in consented else None,
            return_dtype=pl.List(pl.String),
        )
        if derive is not None and consented
        else pl.lit(None, dtype=pl.List(pl.String))
    )
    return _all(checks) & usable, [
        _col("user_id").alias("userId"),
        kind.alias("kind"),
        hashed.alias("value"),
        keys.alias("adKeys"),
    ]


def _search_text(name: str) -> tuple[Expr, Expr]:
    """A search's words, normalised as the model does (lower case, single spaces): plain when ASCII."""
    c = _col(name)
    words = c.str.to_lowercase().str.replace_all(" +", " ").str.strip_chars(" ")
    ok = (
        c.str.contains(r"^[\x20-\x7e]*$")
        & (words.str.len_chars() >= 1)
        & (c.str.strip_chars(" ").str.len_chars() <= 200)
    )
    return ok, words


def _events(ctx: RowContext) -> tuple[Expr, list[Expr]]:
    kinds = [k.value for k in EventKind]
    search = _col("kind") == EventKind.SEARCH.value
    at_ok, at = when("at", required=True)
    words_ok, words = _search_text("target")
    target_ok = pl.when(search).then(words_ok).otherwise(key("target")[0])
    target = pl.when(search).then(words).otherwise(_col("target"))
    checks = [
        ref("event_id"),
        key("user_id"),
        enum("kind", kinds, optional=False),
        (at_ok, at),
        (target_ok, target),
        ref("channel_id"),
    ]
    moment = pl.from_epoch(at, time_unit="ms").dt.replace_time_zone("UTC")
    local = moment if ctx.timezone == "UTC" else moment.dt.convert_time_zone(ctx.timezone)
    digest = _digest_expr(
        [_col("user_id"), _col("kind"), moment.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"), target],
        "keyDigest",
        unless="event_id",
    )
    values = [
        _col("kind").alias("route"),
        _col("user_id").alias("userId"),
        target.alias("target"),
        pl.coalesce(_none_if_blank("event_id"), digest).alias("key"),
        at.alias("at"),
        local.dt.hour().cast(pl.Int64).alias("hour"),
        _none_if_blank("channel_id").alias("channelId"),
    ]
    return _all(checks), values


PLAIN = {
    "users": _users,
    "identities": _identities,
    "user_tags": _user_tags,
    "orders": _orders,
    "ties": _ties,
    "events": _events,
}

"""What each input file kind is: its record model, the statement it feeds, what it refers to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from personagraph.graph.kinds import EventKind
from personagraph.graph.records import (
    ChannelRecord,
    EventRecord,
    IdentityRecord,
    OrderLineRecord,
    ProductRecord,
    Record,
    SurveyAnswerRecord,
    SurveyQuestionRecord,
    TagRecord,
    TieRecord,
    UserRecord,
    UserTagRecord,
)

Row = dict[str, Any]


@dataclass(frozen=True)
class Reference:
    """A row field naming an entity that must already exist (or become a placeholder)."""

    column: str  # the input column, for reject messages
    target: str  # the kind it names: users, products, channels, tags, questions or answers (graph/ids.py)
    key: Callable[[str, Row], str | None]  # (statement, row) -> the referenced key, or None
    # Whether --create-missing makes a placeholder of a key that names nothing: a survey question (and the
    # answers its scale allows) must be loaded from surveys.csv, so a row naming another is always rejected.
    placeholder: bool = True


def _field(name: str) -> Callable[[str, Row], str | None]:
    return lambda _statement, row: row.get(name)


def _product_target(statement: str, row: Row) -> str | None:
    return None if statement.endswith("_search") else row["target"]


def fold_events(rows: list[Row]) -> list[Row]:
    """One row per (user, target) with distinct event keys, as the merge_events_* statements expect.

    Sorted by (user, target), so concurrent loads lock shared edges in the same order (fewer deadlocks).
    """
    folded: dict[tuple[str, str], Row] = {}
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        group = (row["userId"], row["target"])
        if row["key"] in seen[group]:
            continue
        seen[group].add(row["key"])
        entry = folded.setdefault(
            group, {"userId": group[0], "target": group[1], "keys": [], "ats": [], "hours": []}
        )
        entry["keys"].append(row["key"])
        entry["ats"].append(row["at"])
        entry["hours"].append(row["hour"])
    return [folded[group] for group in sorted(folded)]


@dataclass(frozen=True)
class EntityKind:
    name: str
    model: type[Record]
    statement: str
    references: tuple[Reference, ...] = ()
    fold: Callable[[list[Row]], list[Row]] | None = None
    route: Callable[[Record], str] | None = field(default=None)
    # The row field whose repeats within one statement call would be applied clause by clause (Cypher reads
    # every row before it writes any): a user's consent history and acquisition channel, a tag's parent.
    # ``rounds`` splits a batch so that each call holds a key once, and rows apply as one by one.
    once_per_call: str | None = None
    # At most this many rows per call (None: the whole batch), whatever the batch size: a statement whose
    # plan materialises its rows several times (Eager) costs more per row in larger calls.
    rows_per_call: int | None = None

    def rounds(self, rows: list[Row]) -> list[list[Row]]:
        """``rows`` as the calls to make, in order: one call, unless ``once_per_call`` repeats in it (then a
        call for the first row of each key, one for the second, ...; file order kept within each); each
        call cut into calls of ``rows_per_call`` rows at most."""
        calls: list[list[Row]] = [rows]
        if self.once_per_call is not None and len(rows) > 1:
            seen: dict[Any, int] = {}
            calls = []
            for row in rows:
                nth = seen.get(row[self.once_per_call], 0)
                seen[row[self.once_per_call]] = nth + 1
                if nth == len(calls):
                    calls.append([])
                calls[nth].append(row)
        size = self.rows_per_call
        if size is None:
            return calls
        return [call[start : start + size] for call in calls for start in range(0, max(len(call), 1), size)]

    @property
    def required_columns(self) -> list[str]:
        return [n for n, f in self.model.model_fields.items() if f.is_required()]

    @property
    def columns(self) -> list[str]:
        return list(self.model.model_fields)

    def statement_for(self, record: Record) -> str:
        return self.route(record) if self.route else self.statement

    @property
    def user_fields(self) -> tuple[Reference, ...]:
        """Every row field naming a user (a users row's own key too): what the suppression list checks."""
        own = (Reference("user_id", "users", _field("userId")),) if self.name == "users" else ()
        return own + tuple(r for r in self.references if r.target == "users")


def _tie_statement(record: Record) -> str:
    assert isinstance(record, TieRecord)
    return f"profiles/write/merge_ties_{record.kind.value}"


def _event_statement(record: Record) -> str:
    assert isinstance(record, EventRecord)
    return f"events/write/merge_events_{record.kind.value}"


USER = Reference("user_id", "users", _field("userId"))
CHANNEL = Reference("channel_id", "channels", _field("channelId"))

# Dependency order: what is referred to loads before what refers to it.
KINDS: dict[str, EntityKind] = {
    k.name: k
    for k in (
        EntityKind("channels", ChannelRecord, "channels/write/merge_channels"),
        EntityKind("products", ProductRecord, "products/write/merge_products"),
        EntityKind(
            "users",
            UserRecord,
            "profiles/write/merge_users",
            (Reference("acquired_via", "channels", _field("acquiredVia")),),
            once_per_call="userId",
            # merge_users materialises its rows six times (consent history, the acquisition channel it
            # replaces): at 100k users, calls of 2,000 rows load 8-19% faster than calls of 5,000
            rows_per_call=2000,
        ),
        EntityKind("identities", IdentityRecord, "profiles/write/merge_identities", (USER,)),
        EntityKind("tags", TagRecord, "tags/write/merge_tags", once_per_call="tagId"),
        EntityKind(
            "user_tags",
            UserTagRecord,
            "tags/write/merge_user_tags",
            (USER, Reference("tag_id", "tags", _field("tagId"))),
        ),
        EntityKind(
            "orders",
            OrderLineRecord,
            "events/write/merge_order_lines",
            (USER, Reference("sku", "products", _field("sku")), CHANNEL),
        ),
        EntityKind(
            "events",
            EventRecord,
            "events/write/merge_events_view",
            (USER, Reference("target", "products", _product_target), CHANNEL),
            fold=fold_events,
            route=_event_statement,
        ),
        EntityKind("surveys", SurveyQuestionRecord, "surveys/write/merge_survey_questions"),
        EntityKind(
            "survey_answers",
            SurveyAnswerRecord,
            "surveys/write/merge_survey_answers",
            (
                USER,
                Reference("question_id", "questions", _field("questionKey"), placeholder=False),
                # the answer fits the question's scale or options (graph/ids.py: surveys/read/fitting_answers)
                Reference("answer", "answers", _field("answerKey"), placeholder=False),
                CHANNEL,
            ),
        ),
        EntityKind(
            "ties",
            TieRecord,
            "profiles/write/merge_ties_friend",
            (
                Reference("src_user_id", "users", _field("src")),
                Reference("dst_user_id", "users", _field("dst")),
            ),
            route=_tie_statement,
        ),
    )
}
EVENT_STATEMENTS = tuple(f"events/write/merge_events_{k.value}" for k in EventKind)

"""Fold a micro-batch of accepted events into the graph, in one transaction with all that follows from it.

One fold, all or nothing (GraphStore.in_transaction):

1. entries at or below the log's fold cursor are skipped (folded before a crash lost their outcomes);
2. profile updates (identify) are written first, so events later in the batch may name a user they made;
3. each entry's references are checked (the user, its product, its channel; the suppression list; an
   order placed by someone else) and the entry rejected with its reason when one fails;
4. behaviour events and orders are written with the loader's own statements (so folding an event twice,
   or loading its file later, adds nothing);
5. the touched users' rule tags are re-evaluated (graph/tags/engine.py, set-based per rule; for each user
   only the rules that read what the batch wrote for them: their views re-run the behaviour rules, their
   orders the spend rules) and every
   saved audience's membership is refreshed for those of them whose changes it reads: its tags, its
   behaviour actions, or any identify (graph/audiences/reads.py);
6. every tag, membership and profile change is recorded in the change log (graph/changes/log.py), with
   the entries that caused it;
7. the log's fold cursor moves to the batch's last offset.

A crash anywhere before the commit leaves nothing behind and the batch is folded again; after it, the
cursor says so. The outcomes (folded or rejected, and why) go back to the journal after the commit.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from personagraph.graph.audiences.reads import ACTION_OF_EVENT, BOUGHT, ProductFacts, Touched
from personagraph.graph.audiences.service import MembershipChange, refresh_membership
from personagraph.graph.changes.log import NewChange, record_changes
from personagraph.graph.entities import KINDS, fold_events
from personagraph.graph.events.envelope import Envelope, parse_event
from personagraph.graph.events.journal import Entry, Outcome
from personagraph.graph.ids import existing_ids
from personagraph.graph.kinds import EventKind
from personagraph.graph.privacy.forget import REFUSED, suppressed
from personagraph.graph.profiles.write import UserInputError, user_properties, user_record
from personagraph.graph.records import EventRecord, OrderLineRecord, RowContext
from personagraph.graph.settings import get_settings
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.engine import TagCache, TagChange, live_as_of, refresh_tags
from personagraph.graph.tags.rule_file import RuleSet
from personagraph.graph.tags.rules import InputName

log = logging.getLogger(__name__)
# What each kind of entry writes, as the rule kinds name their inputs (RuleParams.reads): a batch of views
# re-evaluates the behaviour rules of the users it touched, not their spend or loyalty.
CHANGES: dict[str, tuple[InputName, ...]] = {
    "event": ("events",),
    "order": ("orders", "priced_lines", "list_prices", "categories", "brands"),
    "profile": ("acquisitions",),
}
MAX_CAUSES = 20  # event ids kept on one change (a user with more events in one batch: the latest ones)
Row = dict[str, Any]


@dataclass
class FoldReport:
    """What one fold did: outcomes per entry, counts, and the change log's cursors it wrote."""

    outcomes: list[Outcome] = field(default_factory=list)
    users: int = 0
    changes: range = range(0)
    last_offset: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per step: where a fold's time goes

    @property
    def folded(self) -> int:
        return sum(o.status == "folded" for o in self.outcomes)

    @property
    def rejected(self) -> int:
        return sum(o.status == "rejected" for o in self.outcomes)


@dataclass
class _Batch:
    """The entries of one fold, sorted into what each becomes, with the rejections found on the way."""

    entries: list[Entry]
    rejected: dict[int, tuple[str, str]] = field(default_factory=dict)  # offset -> (code, reason)
    keys: dict[int, str] = field(default_factory=dict)  # offset -> the event's key
    new_keys: set[str] = field(default_factory=set)
    touched: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # user -> message ids
    # user -> what was written for them: the rules reading it re-run for that user (an order in a batch of
    # views re-runs the spend rules for its buyer only)
    changed: dict[str, set[InputName]] = field(default_factory=lambda: defaultdict(set))
    profiled: set[str] = field(default_factory=set)  # users identified: every saved audience re-evaluated
    # action -> user -> the skus of their new events of it: the saved audiences that read them re-run
    acted: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def live(self) -> Iterable[Entry]:
        return (e for e in self.entries if e.offset not in self.rejected)

    def reject(self, entry: Entry, reason: str, code: str = "BAD_USER_INPUT") -> None:
        """``code`` as the API's errors name it: NOT_FOUND, SUPPRESSED or BAD_USER_INPUT."""
        self.rejected.setdefault(entry.offset, (code, reason))


@dataclass(frozen=True)
class PreparedEvent:
    """A behaviour entry as the loader's statement takes it, or why it cannot be: what folding it needs
    that the graph has no part in, so it can be computed before the fold (the folding worker prepares the
    next batch while one folds)."""

    record: EventRecord | None
    row: Row | None
    statement: str
    error: str | None = None


def prepare_events(entries: Iterable[Entry], timezone: str) -> dict[int, PreparedEvent]:
    """The prepared behaviour events of ``entries``, by offset (hours of day in ``timezone``)."""
    ctx = RowContext(timezone=timezone)
    return {e.offset: _prepare_event(e.envelope.event, ctx) for e in entries if e.envelope.event is not None}


def _prepare_event(event: dict[str, Any], ctx: RowContext) -> PreparedEvent:
    try:
        record = EventRecord.model_validate(event)
    except ValidationError as error:  # accepted by an older collector with other rules
        return PreparedEvent(None, None, "", f"event: {error.errors()[0]['msg']}")
    return PreparedEvent(record, record.to_row(ctx), KINDS["events"].statement_for(record))


def fold(
    store: GraphStore,
    entries: Sequence[Entry],
    *,
    log_id: str | None,
    rules: RuleSet | str | Path | None = None,
    as_of: datetime | None = None,
    cache: TagCache | None = None,
    suppression_key: bytes | None = None,
    timezone: str | None = None,
    prepared: Mapping[int, PreparedEvent] | None = None,
) -> FoldReport:
    """Fold ``entries`` (in offset order) in one write transaction; ``log_id`` names the log whose cursor
    moves with them (None: no cursor, for one-off folds such as graph.events.record). Rules are judged as
    of ``as_of`` (default: the graph's data time, or the batch's latest event when later). ``prepared``:
    the entries' behaviour events as :func:`prepare_events` made them (the others are prepared here)."""
    entries = sorted(entries, key=lambda e: e.offset)
    if not entries:
        return FoldReport()
    zone = timezone or get_settings().timezone
    cache = cache if cache is not None else TagCache()
    context = _Context(log_id, rules, as_of, cache, suppression_key, zone, prepared or {})
    try:
        report = store.in_transaction("events/fold", lambda tx: _fold(tx, entries, context))
    except Exception:
        # What the cache learnt inside the rolled-back transaction (tags it created...) is not in the graph.
        cache.entries.clear()
        raise
    log.debug(
        "folded %d entries (%d rejected) up to offset %d", report.folded, report.rejected, report.last_offset
    )
    return report


REHEARSAL_USER = "persona-rehearsal"  # made up, never committed


class _Rehearsed(Exception):
    """Raised at the end of a rehearsal so that its transaction rolls back."""


def rehearse(
    store: GraphStore,
    *,
    rules: RuleSet | str | Path | None = None,
    suppression_key: bytes | None = None,
    timezone: str | None = None,
    cache: TagCache | None = None,
) -> None:
    """Fold a made-up batch (a new user identified, their view and their order of a product) and roll it
    back: Neo4j plans each statement of a fold the first time it sees it (tens to hundreds of milliseconds
    apiece, a second or more for a whole fold's), so a worker that has rehearsed does not make the first real
    events after a start wait for that. Nothing is written. ``cache`` (the worker's) is read, not written:
    the rehearsal works on a copy, since what it would learn inside the rolled-back transaction is not in
    the graph. A graph without products has nothing to rehearse with."""
    found = store.read("events/read/rehearsal_product")
    if not found:
        return
    sku, now = found[0]["sku"], datetime.now(UTC)
    raw: list[dict[str, Any]] = [
        {"type": "identify", "messageId": "r1", "userId": REHEARSAL_USER, "traits": {"city": "Rehearsal"}},
        {"type": "track", "messageId": "r2", "userId": REHEARSAL_USER, "event": "Product Viewed",
         "timestamp": now.isoformat(), "properties": {"product_id": sku}},
        {"type": "track", "messageId": "r3", "userId": REHEARSAL_USER, "event": "Order Completed",
         "timestamp": now.isoformat(), "properties": {"order_id": "rehearsal", "products": [{"sku": sku}]}},
    ]  # fmt: skip
    entries = [Entry(i + 1, parse_event(e, received_at=now)) for i, e in enumerate(raw)]
    zone = timezone or get_settings().timezone
    copy = TagCache(ttl_s=cache.ttl_s, entries=dict(cache.entries)) if cache is not None else TagCache()
    context = _Context(None, rules, None, copy, suppression_key, zone, {})

    def rehearsal(tx: GraphStore) -> None:
        _fold(tx, entries, context)
        raise _Rehearsed

    with contextlib.suppress(_Rehearsed):  # rolled back: nothing of it stays
        store.in_transaction("events/rehearsal", rehearsal)


def fold_cursor(store: GraphStore, log_id: str) -> int:
    """How far the log ``log_id`` has been folded into the graph (0: not yet)."""
    return int(store.read("events/read/fold_cursor", logId=log_id)[0]["offset"])


@dataclass(frozen=True)
class _Context:
    log_id: str | None
    rules: RuleSet | str | Path | None
    as_of: datetime | None
    cache: TagCache
    suppression_key: bytes | None
    zone: str
    prepared: Mapping[int, PreparedEvent]


def _fold(store: GraphStore, entries: list[Entry], ctx: _Context) -> FoldReport:
    clock = _Clock()
    log_id = ctx.log_id
    done = fold_cursor(store, log_id) if log_id is not None else 0
    replayed = [e for e in entries if e.offset <= done]
    batch = _Batch([e for e in entries if e.offset > done])
    if ctx.suppression_key is not None:
        refused = suppressed(store, ctx.suppression_key, [e.envelope.user_id for e in batch.entries])
        for entry in batch.entries:
            if entry.envelope.user_id in refused:
                batch.reject(entry, f"userId: {REFUSED}", "SUPPRESSED")
    clock.lap("cursor and suppression")
    profile_changes = _write_profiles(store, batch)
    clock.lap("profiles")
    _check_references(store, batch)
    clock.lap("references")
    _write_events(store, batch, ctx)
    clock.lap("events")
    _write_orders(store, batch)
    clock.lap("orders")
    changes = [*profile_changes]
    users = sorted(batch.touched)
    if users:
        latest = max(e.envelope.at for e in batch.live())
        when = ctx.as_of if ctx.as_of is not None else live_as_of(store, latest, ctx.cache)
        retagged = _refresh_tags(store, batch, ctx, when)
        changes += [_tag_change(c, batch.touched[c.user_id]) for c in retagged]
        clock.lap("tags")
        tagged: dict[str, set[str]] = defaultdict(set)
        for c in retagged:
            tagged[c.tag_id].add(c.user_id)
        touched = Touched(
            batch.profiled, batch.acted, tagged, describe=lambda skus: _product_facts(store, skus, ctx.cache)
        )
        changes += [
            _membership_change(c, batch.touched[c.user_id])
            for c in refresh_membership(store, users, touched=touched)
        ]
        clock.lap("audiences")
    cursors = record_changes(store, changes)
    last = entries[-1].offset
    if log_id is not None:
        store.write("events/write/fold_cursor_advance", logId=log_id, offset=last, at=datetime.now(UTC))
    outcomes = [Outcome(e.offset, "folded", {"replayed": True}) for e in replayed]
    tag_changes: dict[str, list[NewChange]] = defaultdict(list)
    for change in changes:
        if change.kind == "tag":
            tag_changes[change.user_id].append(change)
    outcomes += [_outcome(e, batch, tag_changes.get(e.envelope.user_id, [])) for e in batch.entries]
    clock.lap("change log and cursor")
    return FoldReport(
        outcomes=outcomes, users=len(users), changes=cursors, last_offset=last, seconds=clock.seconds
    )


def _refresh_tags(store: GraphStore, batch: _Batch, ctx: _Context, when: datetime) -> list[TagChange]:
    """Re-evaluate the rule tags of the touched users: each group of users whose entries wrote the same
    inputs (views only; orders; ...) against the rules reading those."""
    groups: dict[frozenset[InputName], list[str]] = defaultdict(list)
    for user in sorted(batch.touched):
        groups[frozenset(batch.changed[user])].append(user)
    changes: list[TagChange] = []
    for changed, users in sorted(groups.items(), key=lambda group: sorted(group[0])):
        changes += refresh_tags(
            store,
            rules=ctx.rules,
            user_ids=users,
            as_of=when,
            cache=ctx.cache,
            changed=changed,
            known_users=True,  # each touched user was checked above, or made by an identify
        ).changes
    return changes


class _Clock:
    """Seconds per named step, for FoldReport.seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now


def _write_profiles(store: GraphStore, batch: _Batch) -> list[NewChange]:
    """Identify entries, in order (a later one wins): the user's attributes, created when new."""
    rows: list[Row] = []
    given: dict[str, set[str]] = defaultdict(set)
    for entry in batch.live():
        profile = entry.envelope.profile
        if entry.envelope.action != "profile" or profile is None:
            continue
        try:
            record = user_record(entry.envelope.user_id, profile["fields"])
        except UserInputError as error:
            batch.reject(entry, str(error))
            continue
        row = record.to_row(RowContext())
        if row.get("acquiredVia") and not existing_ids(store, "channels", [row["acquiredVia"]]):
            batch.reject(entry, f"acquired_via: no channel with id {row['acquiredVia']!r}", "NOT_FOUND")
            continue
        rows.append(row)
        batch.changed[record.user_id].update(CHANGES["profile"])
        batch.profiled.add(record.user_id)
        given[record.user_id].update(row["props"])
        batch.touched[record.user_id].append(entry.envelope.message_id)
    if not rows:
        return []
    before = user_properties(store, sorted(given))
    store.write_rows(KINDS["users"].statement, rows)
    after = user_properties(store, sorted(given))
    return [
        NewChange(user, "profile", name, "changed", "event", _causes(batch.touched[user]))
        for user, names in sorted(given.items())
        for name in sorted(names)
        if before.get(user, {}).get(name) != after.get(user, {}).get(name)
    ]


def _check_references(store: GraphStore, batch: _Batch) -> None:
    """Reject entries naming a user, product or channel the graph does not hold, or an order of another."""
    live = [e for e in batch.live() if e.envelope.action != "profile"]
    if not live:
        return
    found = store.read(
        "events/read/fold_references",
        userIds=sorted({e.envelope.user_id for e in live}),
        skus=sorted({sku for e in live for sku in _skus(e.envelope)}),
        channelIds=sorted({c for e in live if (c := _channel(e.envelope))}),
        orderIds=sorted({e.envelope.order["order_id"] for e in live if e.envelope.order is not None}),
    )[0]
    users, skus, channels = set(found["users"]), set(found["skus"]), set(found["channels"])
    placed_by: dict[str, set[str]] = defaultdict(set)
    for owner in found["owners"]:
        placed_by[owner["orderId"]].add(owner["userId"])
    for entry in live:
        env = entry.envelope
        if env.user_id not in users:
            batch.reject(entry, f"user_id: no user with id {env.user_id!r}", "NOT_FOUND")
        elif missing := [s for s in _skus(env) if s not in skus]:
            field_name = "target" if env.event is not None else "sku"
            batch.reject(entry, f"{field_name}: no product with id {missing[0]!r}", "NOT_FOUND")
        elif (channel := _channel(env)) and channel not in channels:
            batch.reject(entry, f"channel_id: no channel with id {channel!r}", "NOT_FOUND")
        elif env.order is not None and placed_by[env.order["order_id"]] - {env.user_id}:
            # Never name the other user: the caller would learn who placed an order they may know by id.
            batch.reject(entry, f"order_id: {env.order['order_id']!r} was placed by another user")


def _skus(env: Envelope) -> list[str]:
    if env.event is not None:
        return [] if env.event["kind"] == EventKind.SEARCH.value else [env.event["target"]]
    if env.order is not None:
        return [line["sku"] for line in env.order["lines"]]
    return []


def _channel(env: Envelope) -> str | None:
    found = (env.event or env.order or {}).get("channel_id")
    return str(found) if found else None


def _write_events(store: GraphStore, batch: _Batch, fold_ctx: _Context) -> None:
    """Behaviour events, folded per statement into one row per (user, target) as the loader does."""
    by_statement: dict[str, list[Row]] = defaultdict(list)
    ctx = RowContext(timezone=fold_ctx.zone)
    for entry in batch.live():
        if entry.envelope.event is None:
            continue
        found = fold_ctx.prepared.get(entry.offset) or _prepare_event(entry.envelope.event, ctx)
        if found.error is not None:
            batch.reject(entry, found.error)
            continue
        record, row = found.record, found.row
        assert record is not None and row is not None
        by_statement[found.statement].append(row)
        batch.keys[entry.offset] = row["key"]
        batch.changed[record.user_id].update(CHANGES["event"])
        if record.kind in ACTION_OF_EVENT:
            batch.acted[ACTION_OF_EVENT[record.kind]][record.user_id].add(record.target)
        batch.touched[record.user_id].append(entry.envelope.message_id)
    for statement, rows in sorted(by_statement.items()):
        for r in store.write_returning(statement, rows=fold_events(rows)):
            batch.new_keys.update(r["keys"])


def _write_orders(store: GraphStore, batch: _Batch) -> None:
    rows: list[Row] = []
    for entry in batch.live():
        order = entry.envelope.order
        if order is None:
            continue
        try:
            lines = [
                OrderLineRecord.model_validate(
                    {
                        "order_id": order["order_id"],
                        "user_id": entry.envelope.user_id,
                        "sku": line["sku"],
                        "ordered_at": order["ordered_at"],
                        "quantity": line.get("quantity"),
                        "unit_price": line.get("unit_price"),
                        "channel_id": order.get("channel_id"),
                    }
                ).to_row(RowContext())
                for line in order["lines"]
            ]
        except ValidationError as error:
            batch.reject(entry, f"order: {error.errors()[0]['msg']}")
            continue
        rows += lines
        batch.changed[entry.envelope.user_id].update(CHANGES["order"])
        batch.acted[BOUGHT][entry.envelope.user_id].update(line["sku"] for line in lines)
        batch.touched[entry.envelope.user_id].append(entry.envelope.message_id)
    store.write_rows("events/write/merge_order_lines", rows)


def _product_facts(
    store: GraphStore, skus: Collection[str], cache: TagCache
) -> dict[str, ProductFacts | None]:
    """The brands and categories of products, kept for the cache's ttl: they change only with a product load,
    and a fold would otherwise read them for every product its events name."""

    def read(missing: list[str]) -> dict[str, ProductFacts]:
        return {
            r["sku"]: ProductFacts(frozenset(r["brands"]), frozenset(r["categories"]))
            for r in store.read("products/read/product_facts", skus=missing)
        }

    return cast(dict[str, ProductFacts | None], cache.get_many(f"{store.database}:product", skus, read))


def _causes(message_ids: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(message_ids))[-MAX_CAUSES:]


def _tag_change(change: TagChange, causes: list[str]) -> NewChange:
    return NewChange(
        change.user_id, "tag", change.tag_id, change.change, "event", _causes(causes), change.rule_id
    )


def _membership_change(change: MembershipChange, causes: list[str]) -> NewChange:
    return NewChange(change.user_id, "audience", change.audience_id, change.change, "event", _causes(causes))


def _outcome(entry: Entry, batch: _Batch, mine: list[NewChange]) -> Outcome:
    """``mine``: the tag changes of the entry's user in this fold."""
    rejected = batch.rejected.get(entry.offset)
    if rejected is not None:
        return Outcome(entry.offset, "rejected", {"code": rejected[0], "reason": rejected[1]})
    env = entry.envelope
    detail: dict[str, Any] = {"tags_added": [], "tags_removed": [], "tags_updated": []}
    for change in mine:
        detail[f"tags_{change.change}"].append(change.subject)
    for key in detail if mine else ():
        detail[key] = sorted(set(detail[key]))
    if env.event is not None:
        detail["new"] = batch.keys.get(entry.offset) in batch.new_keys
    return Outcome(entry.offset, "folded", detail)


__all__ = ["FoldReport", "PreparedEvent", "fold", "fold_cursor", "prepare_events", "rehearse"]

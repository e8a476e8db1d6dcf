"""Rule tags: evaluate every rule for users in bounded batches and make their HAS_TAG edges agree.

Per batch of users and per rule, one read finds who matches (with weight and evidence) and one write
upserts those edges and removes the rule's edges from users it no longer matches. Only
edges with ``source: 'rule'`` and this rule's ``ruleId`` are ever changed: manual and model tags stay.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from personagraph.graph.as_of import Basis, data_time, resolve_as_of
from personagraph.graph.errors import NotFoundError
from personagraph.graph.ids import existing_ids, missing_ids
from personagraph.graph.store import GraphStore
from personagraph.graph.tags.rule_file import Rule as TagRule
from personagraph.graph.tags.rule_file import RuleSet, TagSpec, load_rules
from personagraph.graph.tags.rules import EvalContext, GraphInputs, InputName, Match, Prepared
from personagraph.graph.tags.taxonomy import upsert_tag
from personagraph.graph.times import aware, utc

log = logging.getLogger(__name__)
Progress = Callable[[int], None]
_T = TypeVar("_T")


@dataclass
class TagCache:
    """Global work (taxonomy upserts, cut-offs, cheap products) that per-user re-evaluations may reuse.

    Hold one per process (e.g. in the API's lifespan) so `record_event` does not redo it for every
    event; entries live `ttl_s` seconds. A full refresh always recomputes and stores them.
    Thread-safe and single-flight: when many requests miss the same entry at once (a cold cache
    under load), one computes it and the others wait for that value instead of all computing it.
    """

    ttl_s: float = 300.0
    entries: dict[tuple[str, ...], tuple[float, object]] = field(default_factory=dict)
    _locks: dict[tuple[str, ...], threading.Lock] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _fresh(self, key: tuple[str, ...]) -> tuple[bool, object]:
        hit = self.entries.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def get(self, key: tuple[str, ...], reuse: bool, compute: Callable[[], _T]) -> _T:
        if reuse:
            found, value = self._fresh(key)
            if found:
                return cast(_T, value)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if reuse:  # another thread may have filled it while this one waited
                found, value = self._fresh(key)
                if found:
                    return cast(_T, value)
            computed = compute()
            self.entries[key] = (time.monotonic() + self.ttl_s, computed)
            return computed

    def get_many(
        self, kind: str, keys: Collection[str], compute: Callable[[list[str]], Mapping[str, object]]
    ) -> dict[str, object]:
        """The values of many keys of one ``kind`` (per product, ...): the missing or expired ones computed
        together by one call; a key ``compute`` leaves out is remembered as None."""
        now = time.monotonic()
        wanted = {key: (kind, key) for key in keys}
        missing = sorted(
            k for k, entry in wanted.items() if (hit := self.entries.get(entry)) is None or hit[0] <= now
        )
        if missing:
            found = compute(missing)
            for key in missing:
                self.entries[wanted[key]] = (now + self.ttl_s, found.get(key))
        return {key: self.entries[entry][1] for key, entry in wanted.items()}

    def adopt(self, renewed: TagCache) -> None:
        """Take every entry ``renewed`` computed: a renewal done beside this cache's readers, so they never
        meet an expired entry (graph/events/worker.py renews its cache before the ttl runs out)."""
        self.entries.update(renewed.entries)


@dataclass(frozen=True)
class TagChange:
    """One rule tag edge that a refresh added, removed or re-weighed."""

    user_id: str
    tag_id: str
    rule_id: str
    change: Literal["added", "removed", "updated"]


@dataclass
class RuleReport:
    """What one rule did over the refresh."""

    rule_id: str
    kind: str
    tag_id: str
    matched: int = 0  # users the rule holds for (including those holding the tag by hand)
    added: int = 0
    removed: int = 0
    updated: int = 0  # still held, with a new weight or evidence
    skipped: bool = False  # its input is missing (no prices, orders, ties, ranks...): holds for no one
    reason: str | None = None  # why it was skipped, e.g. 'no influence ranks: run ...'


@dataclass
class RefreshReport:
    """A refresh's counts per rule; `changes` lists each change only for a refresh of given users."""

    as_of: datetime
    as_of_basis: Basis = "given"  # or where the default came from: 'latest order', 'latest event', 'now'
    users: int = 0
    rules: list[RuleReport] = field(default_factory=list)
    stale_removed: int = 0  # edges of rules no longer in the file
    seconds: float = 0.0
    changes: list[TagChange] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(r.added for r in self.rules)

    @property
    def removed(self) -> int:
        return sum(r.removed for r in self.rules) + self.stale_removed

    @property
    def skipped(self) -> list[RuleReport]:
        """Rules whose input is missing, each with its reason."""
        return [r for r in self.rules if r.skipped]


@dataclass
class _Plan:
    rule: TagRule
    prepared: Prepared
    report: RuleReport
    known_tags: set[str] = field(default_factory=set)


def _rule_set(rules: RuleSet | str | Path | None) -> RuleSet:
    return rules if isinstance(rules, RuleSet) else load_rules(rules)


def live_as_of(store: GraphStore, recorded_at: datetime, cache: TagCache | None = None) -> datetime:
    """The default as-of of a re-evaluation right after recording an event or order: the graph's data time
    (as every refresh), read at most once per cache ttl (it scans the behaviour edges), or the recorded
    time when that is later. Live data: the event's time, about now; historic data: its latest moment.
    """
    known = (cache or TagCache()).get((store.database, "data_time"), True, lambda: data_time(store))
    moment = utc(recorded_at)
    return moment if known is None else max(moment, known.at)


def latest_order_time(store: GraphStore) -> datetime | None:
    """When the latest order was placed: the as-of that suits historic (e.g. generated) data."""
    latest = store.read("analytics/read/latest_order_time")[0]["latest"]
    return None if latest is None else aware(latest)


def _upsert_spec(store: GraphStore, spec: TagSpec) -> None:
    upsert_tag(
        store,
        tag_id=spec.id,
        name=spec.name,
        tier=spec.tier.value,
        parent_id=spec.parent,
        synonyms=spec.synonyms,
        description=spec.description,
    )


def _taxonomy_specs(store: GraphStore, rule_set: RuleSet) -> list[TagSpec]:
    """The file's taxonomy entries, then every rule's tag (one per top-level category when templated)."""
    specs = list(rule_set.tags)
    categories: list[str] | None = None
    for rule in rule_set.rules:
        if not rule.params.templated:
            specs.append(rule.tag)
            continue
        if categories is None:
            categories = [r["categoryId"] for r in store.read("tags/read/tags_top_categories")]
        specs += [rule.tag.for_key(category) for category in categories]
    return specs


def ensure_taxonomy(store: GraphStore, rule_set: RuleSet, *, only_missing: bool = False) -> set[str]:
    """Create or update the tags the rules give (a per-user refresh only creates missing ones, fast)."""
    specs = _taxonomy_specs(store, rule_set)
    existing: set[str] = set()
    if only_missing:
        existing = existing_ids(store, "tags", [s.id for s in specs])
    for spec in specs:
        if spec.id not in existing:
            _upsert_spec(store, spec)
    return {s.id for s in specs}


def _plan(
    store: GraphStore,
    rule: TagRule,
    ctx: EvalContext,
    cache: TagCache,
    reuse: bool,
    known: set[str],
    inputs: GraphInputs,
) -> _Plan:
    """The rule's global values, or why it is skipped: its input missing, checked before any other work."""
    reason = rule.params.missing(inputs)
    if reason is not None:
        prepared = Prepared(reason=reason)
    else:
        key = (store.database, rule.model_dump_json(), ctx.as_of.date().isoformat())
        prepared = cache.get(key, reuse, lambda: rule.params.prepare(store, ctx))
    report = RuleReport(rule.id, rule.kind, rule.tag.id, skipped=prepared.skip, reason=prepared.reason)
    return _Plan(rule, prepared, report, set(known))


def _user_batches(
    store: GraphStore, user_ids: Sequence[str] | None, size: int, known: bool = False
) -> Iterator[list[str]]:
    """All users in id order, one page at a time; or the given users, which must exist (checked unless
    ``known``)."""
    if user_ids is not None:
        wanted = list(dict.fromkeys(user_ids))
        for lo in range(0, len(wanted), size):
            batch = wanted[lo : lo + size]
            missing = [] if known else missing_ids(store, "users", batch)
            if missing:
                raise NotFoundError(f"user_ids: no user with id {missing[0]!r} ({len(missing)} unknown)")
            yield batch
        return
    after = ""
    while page := [r["userId"] for r in store.read("tags/read/tags_user_page", after=after, limit=size)]:
        yield page
        after = page[-1]


def _evaluate(
    store: GraphStore, plan: _Plan, batch: list[str], ctx: EvalContext
) -> dict[tuple[str, str], Match]:
    """Who the rule holds for in this batch, one match per (user, tag): the strongest."""
    params = plan.rule.params
    records = store.read(params.statement, userIds=batch, **params.query_params(ctx), **plan.prepared.params)
    best: dict[tuple[str, str], Match] = {}
    for record in records:
        match = params.to_match(record, ctx, plan.prepared)
        tag_id = plan.rule.tag.id if match.key is None else plan.rule.tag.for_key(match.key).id
        if match.key is not None and tag_id not in plan.known_tags:
            _upsert_spec(store, plan.rule.tag.for_key(match.key))  # a category that appeared mid-refresh
            plan.known_tags.add(tag_id)
        previous = best.get((match.user_id, tag_id))
        if previous is None or match.weight > previous.weight:
            best[(match.user_id, tag_id)] = match
    return best


def _apply(
    store: GraphStore, plan: _Plan, batch: list[str], matches: dict[tuple[str, str], Match], ctx: EvalContext
) -> list[TagChange]:
    """Upsert the matched edges, drop the rule's edges the batch's users no longer earn: one statement."""
    rule = plan.rule
    rows = [
        {"userId": user, "tagId": tag, "weight": m.weight, "evidence": m.evidence}
        for (user, tag), m in sorted(matches.items())
    ]
    # The ttl runs from when the rule was evaluated (or from a future as-of): a refresh judged as of
    # a past moment (a replay of history, `--as-of latest`) still confirms the tag today.
    valid_from = max(ctx.as_of, datetime.now(UTC))
    expires = valid_from + timedelta(days=rule.ttl_days) if rule.ttl_days is not None else None
    keep: dict[str, list[str]] = {}
    for user, tag in matches:
        keep.setdefault(user, []).append(tag)
    changes = [
        TagChange(r["userId"], r["tagId"], rule.id, r["change"])
        for r in store.write_returning(
            "tags/write/tags_set_rule",
            rows=rows,
            userIds=batch,
            keep=keep,
            ruleId=rule.id,
            asOf=ctx.as_of,
            expiresAt=expires,
        )
    ]
    plan.report.matched += len(rows)
    for change in changes:
        setattr(plan.report, change.change, getattr(plan.report, change.change) + 1)
    return changes


def refresh_tags(
    store: GraphStore,
    *,
    rules: RuleSet | str | Path | None = None,
    user_ids: Sequence[str] | None = None,
    as_of: datetime | None = None,
    batch_size: int = 1000,
    progress: Progress | None = None,
    cache: TagCache | None = None,
    changed: Collection[InputName] | None = None,
    known_users: bool = False,
) -> RefreshReport:
    """Recompute every rule tag for all users (or the given ones) as of a time.

    ``as_of`` defaults to the graph's data time, the latest order or behaviour event
    (:func:`graph.as_of.resolve_as_of`, the default lifecycle tiers use too).

    Users go in pages of ``batch_size``, so memory stays bounded. The rule file is the truth: tags of
    rules it no longer has are removed too. With ``user_ids`` the report lists every change, and a
    ``cache`` lets such per-user refreshes skip the global work a recent refresh already did.
    With ``changed`` (what was just written for them: behaviour events, orders, ...), only the rules that
    read one of those inputs are re-evaluated; the others would judge as they did; and the tags of rules
    the file no longer has are left to the next full refresh. ``known_users``: the caller has checked that
    every one of ``user_ids`` exists (the folding worker), so they are not looked up again.
    """
    started = time.perf_counter()
    rule_set = _rule_set(rules)
    when = resolve_as_of(store, as_of)
    ctx = EvalContext(as_of=when.at, max_evidence=rule_set.max_evidence)
    reuse = cache is not None and user_ids is not None
    cache = cache if cache is not None else TagCache()
    taxonomy_key = (store.database, "taxonomy", rule_set.model_dump_json())
    known = cache.get(
        taxonomy_key, reuse, lambda: ensure_taxonomy(store, rule_set, only_missing=user_ids is not None)
    )
    inputs_key = (store.database, "inputs", ctx.as_of.date().isoformat())
    inputs = cache.get(inputs_key, reuse, lambda: GraphInputs.read(store, ctx.as_of))
    chosen = [r for r in rule_set.rules if changed is None or r.params.reads() & set(changed)]
    plans = [_plan(store, rule, ctx, cache, reuse, known, inputs) for rule in chosen]
    for plan in plans:
        if plan.prepared.skip:  # said once per full refresh; quietly for one user's re-evaluation
            log.log(
                logging.DEBUG if user_ids is not None else logging.WARNING,
                "rule %r (%s) skipped: %s",
                plan.rule.id,
                plan.rule.kind,
                plan.prepared.reason,
            )
    report = RefreshReport(as_of=ctx.as_of, as_of_basis=when.basis, rules=[p.report for p in plans])
    rule_ids = [r.id for r in rule_set.rules]
    for batch in _user_batches(store, user_ids, batch_size, known_users):
        changes = _refresh_batch(store, plans, batch, ctx)
        # A dropped rule is the rule file's change, not the batch's: re-evaluations after new events
        # (``changed``) leave its tags to the next full refresh.
        stale = (
            []
            if changed is not None
            else store.write_returning("tags/write/tags_remove_stale_rules", userIds=batch, ruleIds=rule_ids)
        )
        for r in stale:
            report.stale_removed += 1
            changes.append(TagChange(r["userId"], r["tagId"], r["ruleId"], "removed"))
        if user_ids is not None:
            report.changes += changes
        report.users += len(batch)
        if progress is not None:
            progress(report.users)
    report.seconds = time.perf_counter() - started
    return report


def _refresh_batch(
    store: GraphStore, plans: list[_Plan], batch: list[str], ctx: EvalContext
) -> list[TagChange]:
    changes: list[TagChange] = []
    for plan in plans:
        matches = {} if plan.prepared.skip else _evaluate(store, plan, batch, ctx)
        changes += _apply(store, plan, batch, matches, ctx)
    return changes


def describe(rule_set: RuleSet) -> list[dict[str, Any]]:
    """Rules as plain values (id, kind, tag, ttl, params), for listings and JSON output."""
    return [
        {
            "rule": r.id,
            "kind": r.kind,
            "tag": r.tag.id,
            "tier": r.tag.tier.value,
            "ttl_days": r.ttl_days,
            "params": json.loads(r.params.model_dump_json()),
        }
        for r in rule_set.rules
    ]

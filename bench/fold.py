"""Where a fold's time goes (issue 18): micro-batches of tracking events folded by graph.events.fold, the
folding worker's own function, straight from this process (no HTTP, no event log), against the loader's
statements alone on the same Neo4j in the same run.

One fresh local Neo4j gets the generated dataset (100k users by default, as bench/events.py). Then, in
turns so that neither has the warmer cache:
- **baseline**: the events' rows through merge_events_* (UNWIND), nothing else: the write limit;
- **fold**: the same number of events, as Product Viewed / Clicked / Liked envelopes, through fold() in
  batches of --batch (the worker's default, 2,000): cursor, suppression, references, the events, the
  rule tags of the touched users, their saved-audience membership (--audiences saved audiences), the
  change log and the cursor, in one transaction.

Results: events/s of each, the ratio, and the seconds per fold step (FoldReport.seconds), in
bench/results/fold.json and bench/results/fold.md. Not part of the test suite.

    .venv/bin/python bench/fold.py              # 100k users
    .venv/bin/python bench/fold.py --quick      # 5k users: a smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.audiences import KINDS, load  # noqa: E402
from bench.common import machine, write_results  # noqa: E402
from bench.events import TRACK_EVENTS, merge_with_loader, population  # noqa: E402
from bench.graphs import dataset, fresh_neo4j  # noqa: E402
from personagraph.graph.audiences.service import save_audience  # noqa: E402
from personagraph.graph.events.envelope import parse_event  # noqa: E402
from personagraph.graph.events.fold import fold  # noqa: E402
from personagraph.graph.events.journal import Entry  # noqa: E402
from personagraph.graph.records import EventRecord  # noqa: E402
from personagraph.graph.server.connection import open_driver  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore, TransactionStore  # noqa: E402
from personagraph.graph.tags.engine import TagCache, live_as_of, refresh_tags  # noqa: E402

log = logging.getLogger("bench.fold")
AUDIENCES: list[dict[str, Any]] = [  # saved audiences of the kinds marketers keep
    {"tag": {"tagId": "night-owl"}},
    {"or": [{"tag": {"tagId": "high-value"}}, {"tag": {"tagId": "brand-loyal"}}]},
    {"behavior": {"action": "viewed", "brand": "Nimbus", "lastDays": 30, "minCount": 2}},
    {
        "and": [
            {"attribute": {"field": "gender", "op": "eq", "value": "female"}},
            {"tag": {"tagId": "new-customer"}},
        ]
    },
    {
        "and": [
            {"not": {"tag": {"tagId": "churn-risk"}}},
            {"behavior": {"action": "clicked", "brand": "Maple"}},
        ]
    },
]


STATEMENT_SECONDS: dict[str, float] = defaultdict(float)


def time_statements() -> None:
    """Seconds per statement inside folds: wrap the transaction-bound store's two ways to run Cypher (its
    writes and its reads)."""
    execute = TransactionStore._execute
    read = TransactionStore._read

    def timed(
        self: TransactionStore, name: str, params: dict[str, Any], routing: Any, *, query: Any = None
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(self, name, params, routing, query=query)
        finally:
            label = query.name if query is not None and getattr(query, "name", None) else name
            STATEMENT_SECONDS[label] += time.perf_counter() - started

    def timed_read(self: TransactionStore, name: str, query: Any, params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return read(self, name, query, params)
        finally:
            label = query.name if getattr(query, "name", None) else name
            STATEMENT_SECONDS[label] += time.perf_counter() - started

    TransactionStore._execute = timed  # type: ignore[method-assign]
    TransactionStore._read = timed_read  # type: ignore[method-assign]


def warm(store: GraphStore, cache: TagCache) -> None:
    """Fill the tag cache before timing, as the folding worker does when it starts (FoldingWorker.warm)."""
    when = live_as_of(store, dt.datetime.now(dt.UTC), cache)
    refresh_tags(store, user_ids=[], as_of=when, cache=cache)


def events(users: list[str], skus: list[str], count: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    """Tracking events of random users and products, each at a time drawn from the last 24 hours (as
    bench/events.py sends them: a shop's traffic comes at every hour)."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    return [
        {
            "type": "track",
            "messageId": f"{prefix}{i}",
            "userId": rng.choice(users),
            "event": rng.choice(list(TRACK_EVENTS)),
            "timestamp": (now - dt.timedelta(seconds=rng.uniform(0, 24 * 3600))).isoformat(),
            "properties": {"product_id": rng.choice(skus)},
        }
        for i in range(count)
    ]


def run_baseline(store: GraphStore, raw: list[dict[str, Any]], batch: int) -> float:
    """The events' rows through the loader's statements only: seconds."""
    records = [
        EventRecord(
            event_id=e["messageId"],
            user_id=e["userId"],
            kind=TRACK_EVENTS[e["event"]],
            at=dt.datetime.fromisoformat(e["timestamp"]),
            target=e["properties"]["product_id"],
        )
        for e in raw
    ]
    return merge_with_loader(store, records, batch)


def run_fold(
    store: GraphStore, raw: list[dict[str, Any]], batch: int, offset: int, cache: TagCache
) -> tuple[float, dict[str, float], int]:
    """The events through fold() in batches: seconds, seconds per step, rejected."""
    received = dt.datetime.now(dt.UTC)
    entries = [Entry(offset + i + 1, parse_event(e, received_at=received)) for i, e in enumerate(raw)]
    steps: dict[str, float] = defaultdict(float)
    rejected = 0
    started = time.perf_counter()
    for lo in range(0, len(entries), batch):
        report = fold(store, entries[lo : lo + batch], log_id="bench-fold", cache=cache)
        rejected += report.rejected
        for step, seconds in report.seconds.items():
            steps[step] += seconds
    return time.perf_counter() - started, dict(steps), rejected


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Fold benchmark ({result['users']:,} users, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}. {result['rounds']} rounds of "
        f"{result['events_per_round']:,} tracking events each way, alternating; folds of "
        f"{result['batch']:,} events; {result['audiences']} saved audiences. bench/fold.py says how.",
        "",
        "| | events/s | x baseline |",
        "|---|---:|---:|",
        f"| baseline: merge_events_* only, batches of {result['batch']:,} | {result['baseline_s']:,.0f} | 1.00 |",
        f"| fold(): the worker's whole fold | {result['fold_s']:,.0f} | {result['ratio']:.2f} |",
        "",
        "Seconds per fold step, over all rounds:",
        "",
        "| step | seconds | share |",
        "|---|---:|---:|",
    ]
    total = sum(result["steps"].values()) or 1.0
    for step, seconds in result["steps"].items():
        lines.append(f"| {step} | {seconds:.2f} | {seconds / total:.0%} |")
    lines.append(f"| commit and the rest | {result['fold_seconds'] - total:.2f} | |")
    lines += [
        "",
        "Seconds per statement inside the folds (those over 0.01 s):",
        "",
        "| statement | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in result["statements"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: 5k users, fewer events")
    parser.add_argument("--events", type=int, default=20_000, help="events per round, each way")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000, help="events per fold (the worker's default)")
    parser.add_argument("--event-users", type=int, default=20_000, help="users the events pick from")
    parser.add_argument("--audiences", type=int, default=len(AUDIENCES), help="saved audiences (0-5)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    if args.quick:
        args.users, args.events, args.rounds = 5_000, 4_000, 2
    data = dataset(args.users, args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
    ):
        driver = open_driver(info, wait_s=60)
        store = GraphStore(driver, "neo4j")
        load(store, data, KINDS, Path(tmp) / "rejects")
        users, skus = population(store, args.event_users, args.seed)
        for i, definition in enumerate(AUDIENCES[: args.audiences]):
            save_audience(
                store, audience_id=f"bench-{i}", name=f"bench {i}", definition=definition, owner="bench"
            )
        cache = TagCache()
        warm(store, cache)
        time_statements()
        base_s = fold_s = 0.0
        steps: dict[str, float] = defaultdict(float)
        offset = 0
        for n in range(args.rounds):
            base_s += run_baseline(
                store, events(users, skus, args.events, args.seed + n, f"b{n}-"), args.batch
            )
            seconds, round_steps, rejected = run_fold(
                store,
                events(users, skus, args.events, args.seed + 1000 + n, f"f{n}-"),
                args.batch,
                offset,
                cache,
            )
            offset += args.events
            fold_s += seconds
            for step, s in round_steps.items():
                steps[step] += s
            log.info("round %d: baseline %.1f s, fold %.1f s (%d rejected)", n, base_s, fold_s, rejected)
        driver.close()
    total = args.events * args.rounds
    result = {
        "users": args.users,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "rounds": args.rounds,
        "events_per_round": args.events,
        "batch": args.batch,
        "audiences": args.audiences,
        "baseline_s": total / base_s,
        "fold_s": total / fold_s,
        "ratio": base_s / fold_s,
        "fold_seconds": fold_s,
        "steps": {k: round(v, 2) for k, v in steps.items()},
        "statements": {
            k: round(v, 2) for k, v in sorted(STATEMENT_SECONDS.items(), key=lambda kv: -kv[1]) if v >= 0.01
        },
    }
    write_results("fold", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Event collector benchmark (issue 18): events/s through POST /v1/batch, how fast they are folded, and how
fresh a profile is after an event, against the write limit of the same Neo4j.

One fresh local Neo4j gets a generated dataset (100k users by default, as bench/load.py). personagraph
is served by uvicorn (--workers, 2 by default) with its folding worker; bench/api-node/batchload.mjs, in
its own Node process, sends tracking events (Product Viewed / Clicked / Liked of random users and
products, each with a new messageId and a time drawn from the 24 hours before it is sent: a shop's traffic
comes at every hour, and events all stamped with the moment of the run made every user a night owl when
the bench ran at night) in batches of 1 and of 100 from 1, 8 and 32 clients.

Per run:
- **accepted/s**: events the collector acknowledged (durable in the event log) per measured second;
- **folded/s (sustained)**: every event of the run folded into the graph, divided by the time from the
  run's start until the fold cursor reached the log's end (so a collector that outruns the folding
  worker is not counted faster than the graph is written);
- the request latency (p50/p95/p99) and errors.

Baseline (same run, same Neo4j): the same kind of events folded by the loader's own statements
(merge_events_*) through UNWIND from this process, in batches of 500, no HTTP, no tags: the write limit
of this Neo4j here. Ratio = sustained folded/s with batches of 100 / baseline.

Freshness, at a sustained rate: 8 clients send batches of 100 paced to --fresh-rate events/s (2,000, the
target) or, when the fold measured less in the batch-100 runs, to 80 % of the best rate it sustained
(a faster offered rate only grows a queue, and freshness with it); once a second a new user is identified
and places an order (one batch of two events); the time from the collector's answer until (a) a GraphQL
read of that user shows the rule tag `new-customer` (rule tags re-evaluated by the fold), (b) the message
of their entry into a saved audience of that tag reaches an `audienceMembershipChanged` subscription over
server-sent events, (c) the webhook delivery of that entry reaches a receiver on 127.0.0.1 (its signature
verified): p50/p95/p99.

Afterwards every acknowledged messageId is looked up in Neo4j (eventKeys of behaviour edges): it must be
there exactly once. Results: bench/results/events.json and bench/results/events.md. Not part of the
test suite.

    .venv/bin/python bench/events.py              # 100k users, 30 s per run
    .venv/bin/python bench/events.py --quick      # 5k users, short runs: a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import NODE_DIR, node_env, npm_install, personagraph_server  # noqa: E402
from bench.audiences import KINDS, load  # noqa: E402
from bench.common import machine, private_env, write_results  # noqa: E402
from bench.graphs import dataset, fresh_neo4j  # noqa: E402
from bench.load import fold_process, percentile  # noqa: E402
from personagraph.graph.audiences.service import save_audience  # noqa: E402
from personagraph.graph.entities import KINDS as ENTITY_KINDS  # noqa: E402
from personagraph.graph.entities import fold_events  # noqa: E402
from personagraph.graph.events.fold import fold_cursor  # noqa: E402
from personagraph.graph.events.journal import SqliteJournal  # noqa: E402
from personagraph.graph.kinds import Purpose  # noqa: E402
from personagraph.graph.records import EventRecord, RowContext  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402
from personagraph.graph.server.local import free_port  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402
from personagraph.graph.webhooks.registry import register_webhook  # noqa: E402

log = logging.getLogger("bench.events")
TRACK_EVENTS = {"Product Viewed": "view", "Product Clicked": "click", "Product Liked": "like"}
BASELINE_BATCH = 500
FRESH_TAG = "new-customer"
FRESH_AUDIENCE = "bench-fresh"  # saved audience of FRESH_TAG: its entries are pushed (subscription, webhook)
DAY_S = 24 * 3600.0  # events' times are drawn from the day before they are sent
TARGET_BATCH_100 = 2000.0  # events/s sustained with batches of 100
TARGET_BATCH_1 = 300.0  # events/s with batches of 1
TARGET_RATIO = 0.7  # x the baseline
TARGET_FRESH_P95_S = 2.0
STORED_KEYS = (
    "MATCH ()-[r:VIEWED|CLICKED|LIKED]->() WHERE any(k IN r.eventKeys WHERE k STARTS WITH $prefix) "
    "RETURN r.eventKeys AS keys, r.count AS count"
)


def population(store: GraphStore, users: int, seed: int) -> tuple[list[str], list[str]]:
    run = store.driver.execute_query
    ids = [r["id"] for r in run("MATCH (u:User) RETURN u.userId AS id ORDER BY id")[0]]
    skus = [r["sku"] for r in run("MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku")[0]]
    return random.Random(seed).sample(ids, min(users, len(ids))), skus


# --- the baseline: the loader's statements from this process ---------------------------------------


def baseline(store: GraphStore, users: list[str], skus: list[str], count: int, seed: int) -> dict[str, Any]:
    """``count`` events folded with merge_events_* in batches of BASELINE_BATCH: events/s."""
    random_ = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    records = [
        EventRecord(
            event_id=f"baseline-{seed}-{i}",
            user_id=random_.choice(users),
            kind=random_.choice(list(TRACK_EVENTS.values())),
            at=now - dt.timedelta(seconds=random_.uniform(0, DAY_S)),  # as batchload.mjs stamps them
            target=random_.choice(skus),
        )
        for i in range(count)
    ]
    seconds = merge_with_loader(store, records, BASELINE_BATCH)
    return {
        "events": count,
        "batch": BASELINE_BATCH,
        "seconds": round(seconds, 2),
        "events_s": count / seconds,
    }


def merge_with_loader(store: GraphStore, records: list[EventRecord], batch: int) -> float:
    """``records`` through the loader's merge_events_* statements (UNWIND), ``batch`` at a time: seconds."""
    ctx = RowContext()
    started = time.perf_counter()
    for lo in range(0, len(records), batch):
        by_statement: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records[lo : lo + batch]:
            by_statement[ENTITY_KINDS["events"].statement_for(record)].append(record.to_row(ctx))
        for statement, rows in sorted(by_statement.items()):
            store.write_returning(statement, rows=fold_events(rows))
    return time.perf_counter() - started


# --- one collector run -------------------------------------------------------------------------------


def drive(job: dict[str, Any], workdir: Path, name: str, authorization: str) -> dict[str, Any]:
    job_file, out_file = workdir / f"{name}-job.json", workdir / f"{name}-out.json"
    job_file.write_text(json.dumps(job))
    with (workdir / f"{name}-node.log").open("wb") as node_log:
        code = subprocess.run(
            ["node", str(NODE_DIR / "batchload.mjs"), str(job_file), str(out_file)],
            stdout=node_log,
            stderr=subprocess.STDOUT,
            env=node_env(authorization),
            timeout=job["warmup"] + job["duration"] + 600,
        ).returncode
    if code != 0 or not out_file.exists():
        raise RuntimeError(f"batchload failed ({code}): {(workdir / f'{name}-node.log').read_text()[-2000:]}")
    out: dict[str, Any] = json.loads(out_file.read_text())
    return out


def drain(
    store: GraphStore, journal: SqliteJournal, timeout_s: float = 900.0, stall_s: float = 120.0
) -> float:
    """Wait until the folding worker has folded the whole log; the moment it had (time.time()). Fails when
    the cursor stops moving for ``stall_s`` (a dead server: see personagraph.log in the work folder)."""
    deadline = time.monotonic() + timeout_s
    moved, last = time.monotonic(), -1
    while (cursor := fold_cursor(store, journal.log_id)) < journal.last_offset():
        now = time.monotonic()
        if cursor != last:
            moved, last = now, cursor
        if now > deadline or now - moved > stall_s:
            raise RuntimeError(f"the folding worker did not catch up (fold cursor {cursor})")
        time.sleep(0.05)
    return time.time()


def run_one(
    store: GraphStore,
    journal: SqliteJournal,
    base: dict[str, Any],
    batch: int,
    clients: int,
    workdir: Path,
    authorization: str,
    probe: Freshness | None = None,
    rate: float | None = None,
) -> dict[str, Any]:
    name = f"b{batch}-c{clients}" + (f"-r{rate:.0f}" if rate else "")
    job = {**base, "batch": batch, "clients": clients, "prefix": f"{base['prefix']}{name}-", "rate": rate}
    log.info("run %s: %d clients, batches of %d, %.0f s", name, clients, batch, job["duration"])
    drain(store, journal)  # start from an empty queue
    if probe is not None:
        probe.start()
    out = drive(job, workdir, name, authorization)
    if probe is not None:
        probe.stop()
    folded_at = drain(store, journal)
    latencies = sorted(out["latencies"])
    span = folded_at - out["startedAt"] / 1000
    result = {
        "batch": batch,
        "clients": clients,
        "offered_rate": rate,
        "requests_s": out["measured"]["requests"] / out["measured"]["seconds"],
        "accepted_s": out["measured"]["acked"] / out["measured"]["seconds"],
        "folded_s": out["events"]["acked"] / span,
        "drain_s": round(folded_at - out["endedAt"] / 1000, 2),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "errors": out["errors"],
        "error_samples": out["errorSamples"],
        "acked": out["events"]["acked"],
    }
    log.info("%s", {k: v for k, v in result.items() if k != "error_samples"})
    result["acked_ids"] = out["acked"]
    return result


# --- freshness ----------------------------------------------------------------------------------------


class Freshness:
    """Once a second: a new user identified and their first order, then a GraphQL read of that user until
    it shows the rule tag FRESH_TAG; seconds from the collector's answer until then."""

    def __init__(self, base_url: str, authorization: str, skus: list[str], prefix: str) -> None:
        self.base_url, self.authorization, self.skus, self.prefix = base_url, authorization, skus, prefix
        self.seconds: list[float] = []
        self.missed = 0
        self.answered: dict[str, float] = {}  # probe user -> when the collector answered (time.time())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            json.dumps(body).encode(),
            {"content-type": "application/json", "authorization": self.authorization},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
            return answer

    def _probe(self, n: int) -> None:
        user = f"{self.prefix}fresh-{n}"
        now = dt.datetime.now(dt.UTC).isoformat()
        batch = [
            {
                "messageId": f"{user}-identify",
                "type": "identify",
                "userId": user,
                "traits": {"city": "Probe"},
            },
            {
                "messageId": f"{user}-order",
                "type": "track",
                "event": "Order Completed",
                "userId": user,
                "timestamp": now,
                "properties": {"order_id": f"{user}-o", "products": [{"sku": self.skus[n % len(self.skus)]}]},
            },
        ]
        self._post("/v1/batch", {"batch": batch})
        answered = time.perf_counter()
        self.answered[user] = time.time()
        query = {"query": "query($id: ID!) { user(id: $id) { tags { tagId } } }", "variables": {"id": user}}
        while time.perf_counter() - answered < 30:
            data = self._post("/graphql", query).get("data") or {}
            tags = {t["tagId"] for t in (data.get("user") or {}).get("tags") or []}
            if FRESH_TAG in tags:
                self.seconds.append(time.perf_counter() - answered)
                return
            time.sleep(0.02)
        self.missed += 1

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(1.0):
            try:
                self._probe(n)
            except OSError as error:
                log.warning("freshness probe %d failed: %s", n, error)
                self.missed += 1
            n += 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.seconds)
        return {
            "probes": len(ordered) + self.missed,
            "missed": self.missed,
            **{f"p{p}_s": percentile(ordered, p) for p in (50, 95, 99)},
        }


class Pushed:
    """When each probe user's entry into the saved audience FRESH_AUDIENCE (the rule tag FRESH_TAG) reached
    (b) a GraphQL subscription over server-sent events (``audienceMembershipChanged``, admin key) and (c) a
    webhook (Standard Webhooks, verified with the standardwebhooks package by tests/test_webhooks.py's
    receiver): seconds from the collector's answer (Freshness.answered)."""

    QUERY = "subscription($a: ID!) { audienceMembershipChanged(audienceId: $a) { userId change } }"

    def __init__(self, base_url: str, authorization: str, store: GraphStore, settings: Settings) -> None:
        from tests.test_webhooks import Receiver  # here: only this run needs it

        self.base_url, self.authorization = base_url, authorization
        self.streamed: dict[str, float] = {}
        self.receiver = Receiver()
        self.receiver.start()
        hook = register_webhook(
            store,
            settings,
            url=self.receiver.url("/fresh"),
            events=["audience.entered"],
            audience_ids=[FRESH_AUDIENCE],
            created_by="bench",
        )
        self.receiver.secrets["/fresh"] = hook.secret
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        body = {"query": self.QUERY, "variables": {"a": FRESH_AUDIENCE}}
        headers = {"authorization": self.authorization, "accept": "text/event-stream"}
        with (
            httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client,
            client.stream("POST", f"{self.base_url}/graphql/stream", json=body, headers=headers) as answer,
        ):
            for line in answer.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("data:"):
                    data = (json.loads(line[5:]).get("data") or {}).get("audienceMembershipChanged") or {}
                    if data.get("change") == "ENTERED":
                        self.streamed.setdefault(data["userId"], time.time())

    def stop(self) -> None:
        self._stop.set()
        self.receiver.stop()

    def summary(self, answered: dict[str, float]) -> dict[str, Any]:
        hooked: dict[str, float] = {}
        for r in self.receiver.accepted("/fresh"):
            if r.payload is not None:
                hooked.setdefault(r.payload["data"]["userId"], r.at)
        found = {}
        for name, seen in (("subscription", self.streamed), ("webhook", hooked)):
            seconds = sorted(seen[u] - t for u, t in answered.items() if u in seen)
            found[name] = {
                "probes": len(answered),
                "missed": len(answered) - len(seconds),
                **{f"p{p}_s": percentile(seconds, p) for p in (50, 95, 99)},
            }
        return found


# --- checks and report -------------------------------------------------------------------------------


def fold_metrics(base_url: str, authorization: str) -> dict[str, float]:
    """The folding worker's histogram from /metrics (every worker's, added up): bucket bound -> count,
    and 'count' and 'sum'."""
    request = urllib.request.Request(f"{base_url}/metrics", headers={"authorization": authorization})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith('persona_fold_seconds_bucket{le="'):
            found[name.split('"')[1]] = float(value)
        elif name in ("persona_fold_seconds_count", "persona_fold_seconds_sum"):
            found[name.rsplit("_", 1)[1]] = float(value)
    return found


def fold_spread(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """The folds between two scrapes: how many, their mean seconds, and how many took over 1 s and 2.5 s."""
    n = after.get("count", 0) - before.get("count", 0)

    def over(bound: str) -> float:
        return n - (after.get(bound, 0) - before.get(bound, 0))

    total = after.get("sum", 0) - before.get("sum", 0)
    return {"folds": n, "mean_s": total / n if n else None, "over_1s": over("1.0"), "over_2_5s": over("2.5")}


def _pushed(pushed: dict[str, Any] | None) -> str:
    """The same probes' entry into the saved audience of their tag, pushed (Pushed.summary)."""
    if not pushed:
        return ""
    what = {"subscription": "the subscription message (SSE)", "webhook": "the webhook delivery"}
    return (
        " ".join(
            f"To {what[name]}: p50 {_n(got['p50_s'], 2)} s, p95 {_n(got['p95_s'], 2)} s, "
            f"p99 {_n(got['p99_s'], 2)} s ({got['missed']} missed)."
            for name, got in pushed.items()
        )
        + " "
    )


def _folds(folds: dict[str, Any] | None) -> str:
    if not folds or not folds["folds"]:
        return ""
    return (
        f"Meanwhile the worker folded {folds['folds']:,.0f} times, {folds['mean_s']:.2f} s a fold on average; "
        f"{folds['over_1s']:,.0f} took over 1 s, {folds['over_2_5s']:,.0f} over 2.5 s."
    )


def verify(store: GraphStore, acked: list[str], prefix: str) -> dict[str, Any]:
    """Every acknowledged messageId stored exactly once (as an event key of a behaviour edge)."""
    stored: Counter[str] = Counter()
    inconsistent = 0
    for r in store.driver.execute_query(STORED_KEYS, prefix=prefix)[0]:
        keys = r["keys"]
        inconsistent += r["count"] != len(keys) or len(set(keys)) != len(keys)
        stored.update(k for k in keys if k.startswith(prefix))
    wanted = set(acked)
    return {
        "acknowledged": len(wanted),
        "found": len(wanted & set(stored)),
        "missing": len(wanted - set(stored)),
        "doubled": sum(1 for n in stored.values() if n > 1),
        "edges_count_mismatch": inconsistent,
    }


def _n(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    base = result["baseline"]["events_s"]
    lines = [
        f"# Event collector benchmark ({result['users']:,} users, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}; personagraph with "
        f"{result['workers']} uvicorn workers, events folded {result.get('fold', 'in the API')}; "
        f"{result['duration_s']:.0f} s per run "
        f"after {result['warmup_s']:.0f} s warm-up. One run; bench/events.py says how each figure is taken.",
        "",
        f"Baseline: the loader's merge_events_* statements from the bench process, batches of "
        f"{result['baseline']['batch']}, no HTTP and no tags: **{base:,.0f} events/s**.",
        "",
        "| batch | clients | requests/s | accepted events/s | folded events/s (sustained) | x baseline | "
        "p50 ms | p95 ms | p99 ms | drain s | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['batch']} | {r['clients']} | {_n(r['requests_s'])} | {_n(r['accepted_s'])} | "
            f"{_n(r['folded_s'])} | {r['folded_s'] / base:.2f} | {_n(r['p50_ms'], 1)} | {_n(r['p95_ms'], 1)} | "
            f"{_n(r['p99_ms'], 1)} | {r['drain_s']} | {sum(r['errors'].values())} |"
        )
    fresh = result["freshness"]
    checks = result["checks"]
    lines += [
        "",
        f"Freshness (batches of 100 from 8 clients paced to {fresh['offered_rate']:,.0f} events/s; folded "
        f"{result['paced']['folded_s']:,.0f}/s, requests p99 {_n(result['paced']['p99_ms'], 1)} ms): "
        "collector answer to the rule tag visible in a GraphQL read: "
        f"p50 {_n(fresh['p50_s'], 2)} s, p95 {_n(fresh['p95_s'], 2)} s, p99 {_n(fresh['p99_s'], 2)} s over "
        f"{fresh['probes']} probes ({fresh['missed']} missed). {_pushed(fresh.get('pushed'))}"
        f"{_folds(result['paced'].get('folds'))}",
        "",
        f"Stored exactly once: {checks['found']:,} of {checks['acknowledged']:,} acknowledged events found, "
        f"{checks['missing']} missing, {checks['doubled']} doubled, {checks['edges_count_mismatch']} edges "
        "whose count differs from their keys.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for target in result["targets"]:
        lines.append(f"| {target['what']} | {target['measured']} | {'yes' if target['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def targets(runs: list[dict[str, Any]], base: float, fresh: dict[str, Any]) -> list[dict[str, Any]]:
    best100 = max((r["folded_s"] for r in runs if r["batch"] == 100), default=0.0)
    best1 = max((r["folded_s"] for r in runs if r["batch"] == 1), default=0.0)
    p95 = fresh.get("p95_s")
    return [
        {"what": f">= {TARGET_BATCH_100:,.0f} events/s sustained, batches of 100", "measured": f"{best100:,.0f}",
         "met": best100 >= TARGET_BATCH_100},
        {"what": f">= {TARGET_RATIO}x the baseline, batches of 100", "measured": f"{best100 / base:.2f}",
         "met": best100 / base >= TARGET_RATIO},
        {"what": f">= {TARGET_BATCH_1:,.0f} events/s, batches of 1", "measured": f"{best1:,.0f}",
         "met": best1 >= TARGET_BATCH_1},
        {"what": f"freshness p95 <= {TARGET_FRESH_P95_S} s (GraphQL read)", "measured": f"{_n(p95, 2)} s",
         "met": p95 is not None and p95 <= TARGET_FRESH_P95_S},
        *[
            {"what": f"freshness p95 <= {TARGET_FRESH_P95_S} s ({name})", "measured": f"{_n(got['p95_s'], 2)} s",
             "met": got["p95_s"] is not None and got["p95_s"] <= TARGET_FRESH_P95_S and not got["missed"]}
            for name, got in fresh.get("pushed", {}).items()
        ],
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: 5k users, 8 s runs")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--batches", default="1,100")
    parser.add_argument("--event-users", type=int, default=20_000, help="users the events pick from")
    parser.add_argument("--baseline-events", type=int, default=50_000)
    parser.add_argument("--fresh-rate", type=float, default=TARGET_BATCH_100, help="events/s while probing")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--fold-process",
        action="store_true",
        help="fold in `persona events fold`, a process of its own, not in the API (results: events-fold-process)",
    )
    args = parser.parse_args(argv)
    if args.fold_process:
        os.environ["PERSONA_EVENTS_FOLD_IN_API"] = "0"  # the server the bench starts passes it on
    os.environ["PERSONA_WEBHOOKS_ALLOW_PRIVATE"] = "true"  # the freshness webhook's receiver is on 127.0.0.1
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    if args.quick:
        args.users, args.duration, args.warmup, args.baseline_events = 5_000, 8.0, 2.0, 5_000
    npm_install()
    data = dataset(args.users, args.seed)
    prefix = f"ev-{int(time.time())}-"
    with (
        tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
    ):
        workdir = Path(tmp)
        result = measure(info, args, data, workdir, prefix)
    write_results("events-fold-process" if args.fold_process else "events", result, markdown(result))
    print(markdown(result))
    return 0


def measure(
    info: ConnectionInfo, args: argparse.Namespace, data: Path, workdir: Path, prefix: str
) -> dict[str, Any]:
    driver = open_driver(info, wait_s=60)
    store = GraphStore(driver, "neo4j")
    load_seconds = load(store, data, KINDS, workdir / "rejects")
    users, skus = population(store, args.event_users, args.seed)
    base = baseline(store, users, skus, args.baseline_events, args.seed)
    log.info("baseline: %.0f events/s", base["events_s"])
    port = free_port()
    job = {
        "url": f"http://127.0.0.1:{port}/v1/batch",
        "duration": args.duration,
        "warmup": args.warmup,
        "seed": args.seed,
        "timeoutMs": 60_000,
        "prefix": prefix,
        "users": users,
        "skus": skus,
        "events": list(TRACK_EVENTS),
    }
    runs = []
    folding = fold_process(info, workdir) if args.fold_process else contextlib.nullcontext()
    with personagraph_server(info, port, args.workers, workdir) as authorization, folding:
        journal = SqliteJournal(workdir / "events.sqlite3")
        for batch in (int(b) for b in args.batches.split(",")):
            for clients in (int(c) for c in args.clients.split(",")):
                runs.append(run_one(store, journal, job, batch, clients, workdir, authorization))
        best = max((r["folded_s"] for r in runs if r["batch"] == 100), default=args.fresh_rate)
        rate = min(args.fresh_rate, 0.8 * best)
        fresh = Freshness(f"http://127.0.0.1:{port}", authorization, skus, prefix)
        save_audience(
            store,
            audience_id=FRESH_AUDIENCE,
            name="new customers (freshness probes)",
            definition={"tag": {"tagId": FRESH_TAG}},
            owner="bench",
            purpose=Purpose.ANALYSIS,
        )
        settings = Settings(
            secret_key=private_env(workdir)["PERSONA_SECRET_KEY"], webhooks_allow_private=True
        )
        pushed = Pushed(f"http://127.0.0.1:{port}", authorization, store, settings)
        folds_before = fold_metrics(f"http://127.0.0.1:{port}", authorization)
        paced = run_one(store, journal, job, 100, 8, workdir, authorization, fresh, rate)
        paced["folds"] = fold_spread(folds_before, fold_metrics(f"http://127.0.0.1:{port}", authorization))
        time.sleep(5)  # the last probes' pushed messages
        pushed.stop()
        journal.close()
    acked = [i for r in [*runs, paced] for i in r.pop("acked_ids")]
    checks = verify(store, acked, prefix)
    driver.close()
    freshness = fresh.summary()
    freshness["pushed"] = pushed.summary(fresh.answered)
    return {
        "users": args.users,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "workers": args.workers,
        "fold": "in `persona events fold`, its own process" if args.fold_process else "in the API",
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "load_seconds": load_seconds,
        "baseline": base,
        "runs": runs,
        "paced": paced,
        "freshness": {**freshness, "offered_rate": rate},
        "checks": checks,
        "targets": targets(runs, base["events_s"], freshness),
    }


if __name__ == "__main__":
    raise SystemExit(main())

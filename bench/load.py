"""Load test: personagraph's GraphQL API under a bounded mix of reads and writes, on loopback.

One fresh local Neo4j gets a generated dataset (100k users by default) and the co-purchase analysis,
set up by bench/api.py's own functions (bench.audiences.load, bench.api.pick_pool, ...).
personagraph is served by uvicorn (`--factory personagraph.api.app:create_app`, --workers, 1 by default) and
driven over HTTP by bench/api-node/mixload.mjs in a separate Node process: --clients concurrent
clients (32) for --duration seconds (120) after a --warmup (10 s), each sending its next request when
the last is answered, the operation drawn at random by weight:

- 60 % profile: a user with tags, 20 friends (with the total) and 10 newest orders with totals;
- 15 % audience count: users holding a tag AND living in a city (purpose ANALYSIS);
- 15 % cross-sell: a product and the 10 products most bought with it;
- 10 % recordEvent: a VIEW, CLICK or LIKE of a product by a user, each with a new eventId.

Every response body is checked: an error is a non-2xx status, a socket error or timeout, a body with
GraphQL `errors`, or a recordEvent answer that does not echo its eventId. Afterwards every
recordEvent that got a success answer is looked up in Neo4j (eventKeys on the behaviour edges): it
must be there exactly once. Results: bench/results/load.json and bench/results/load.md.
Not part of the test suite.

Credentials are required, as in production: bench.api.personagraph_server makes an admin API key in
the work directory (with the server's audit log and master secret) and every request (mixload.mjs,
via BENCH_AUTHORIZATION, the probes and the /metrics read) sends it as `Authorization: Bearer`, so
each one also pays for authentication and the access-control walk over its operation; recordEvents
are written to the audit log too. All clients share the one key, hence one rate-limit budget.

    .venv/bin/python bench/load.py              # 100k users, 32 clients, 2 minutes
    .venv/bin/python bench/load.py --quick      # 5k users, ~20 s: a smoke run
    .venv/bin/python bench/load.py --clients 8 --duration 60 --workers 2
    .venv/bin/python bench/load.py --workers 2 --fold-process   # events folded by `persona events fold`
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import (  # noqa: E402 - after the path setup
    NODE_DIR,
    OURS,
    PERSONAGRAPH,
    body,
    node_env,
    npm_install,
    persona_neo4j_env,
    personagraph_server,
    pick_pool,
    versions,
)
from bench.audiences import KINDS, load  # noqa: E402
from bench.common import machine, private_env, write_results  # noqa: E402
from bench.graphs import dataset, fresh_neo4j  # noqa: E402
from personagraph.graph.analytics.copurchase import run_copurchase  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402
from personagraph.graph.server.local import free_port  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.load")
READS = ("profile", "audience count", "cross-sell")
WRITE = "recordEvent"
MIX = {"profile": 60, "audience count": 15, "cross-sell": 15, WRITE: 10}
EVENT_KINDS = ("VIEW", "CLICK", "LIKE")
RECORD_EVENT = "mutation Record($e: EventInput!) { recordEvent(input: $e) { new eventKey tagsAdded } }"


# --- the load generator ---------------------------------------------------------------------------


def event_job(store: GraphStore, prefix: str, users: int, seed: int) -> dict[str, Any]:
    """What mixload.mjs needs to build recordEvent requests: ``users`` users drawn with a fixed seed,
    every product, and the eventId prefix of this run."""
    run = store.driver.execute_query
    ids = [r["id"] for r in run("MATCH (u:User) RETURN u.userId AS id ORDER BY id")[0]]
    skus = [r["sku"] for r in run("MATCH (p:Product) RETURN p.sku AS sku ORDER BY sku")[0]]
    chosen = random.Random(seed).sample(ids, min(users, len(ids)))
    return {
        "query": RECORD_EVENT,
        "prefix": prefix,
        "users": chosen,
        "skus": skus,
        "kinds": list(EVENT_KINDS),
    }


def probe_events(
    url: str, event: dict[str, Any], authorization: str | None, count: int = 2
) -> list[dict[str, Any]]:
    """``count`` recordEvents one after the other, timed, before any load: the first meets the server's
    cold tag cache (rule cut-offs computed over all users), the next ones a warm cache. Their ids
    (``event["prefix"]`` + "probe-<n>") are checked in Neo4j with the load's. Each sends
    ``authorization`` as its Authorization header, when given."""
    probes = []
    for n in range(1, count + 1):
        event_id = f"{event['prefix']}probe-{n}"
        variables = {
            "e": {
                "userId": event["users"][n % len(event["users"])],
                "kind": "VIEW",
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "target": event["skus"][n % len(event["skus"])],
                "eventId": event_id,
            }
        }
        headers = {"content-type": "application/json", "accept": "application/json"}
        if authorization:
            headers["authorization"] = authorization
        started = time.perf_counter()
        request = urllib.request.Request(
            url, json.dumps({"query": event["query"], "variables": variables}).encode(), headers
        )
        try:  # a cold cache over 100k+ users takes a while: a longer timeout than bench.api.post's
            with urllib.request.urlopen(request, timeout=600) as response:
                reply = json.load(response)
        except urllib.error.HTTPError as exc:  # a 401/403/429 carries a GraphQL error body
            try:
                reply = json.loads(exc.read())
            except ValueError:
                reply = {"errors": [{"message": str(exc), "extensions": {"code": f"HTTP {exc.code}"}}]}
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reply = {"errors": [{"message": str(exc), "extensions": {"code": f"no answer: {exc}"}}]}
        ms = round((time.perf_counter() - started) * 1000, 1)
        errors = reply.get("errors")
        ok = not errors and (reply.get("data") or {}).get(WRITE, {}).get("eventKey") == event_id
        code = None if ok else (errors or [{}])[0].get("extensions", {}).get("code", "EVENT_KEY_MISMATCH")
        probes.append({"eventId": event_id, "ms": ms, "ok": ok, "code": code})
        log.info("probe recordEvent %d: %.0f ms%s", n, ms, "" if ok else f" ({code})")
    return probes


def add_probes(events: dict[str, Any], probes: list[dict[str, Any]]) -> None:
    events["sent"] += [p["eventId"] for p in probes]
    events["acked"] += [p["eventId"] for p in probes if p["ok"]]
    events["failed"].update({p["eventId"]: p["code"] for p in probes if not p["ok"]})


def start_mixload(
    job: dict[str, Any], workdir: Path, name: str, authorization: str | None
) -> tuple[subprocess.Popen[bytes], Path]:
    """mixload.mjs in its own Node process, every request carrying ``authorization`` (when given) as
    its Authorization header; wait with `finish_mixload` (SIGTERM stops it early)."""
    job_file, out_file = workdir / f"{name}-job.json", workdir / f"{name}-out.json"
    job_file.write_text(json.dumps(job))
    out_file.unlink(missing_ok=True)
    log_file = (workdir / f"{name}-node.log").open("wb")
    proc = subprocess.Popen(
        ["node", str(NODE_DIR / "mixload.mjs"), str(job_file), str(out_file)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=node_env(authorization),
    )
    log_file.close()
    return proc, out_file


def finish_mixload(proc: subprocess.Popen[bytes], out_file: Path, timeout_s: float) -> dict[str, Any]:
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError(f"mixload did not finish within {timeout_s:.0f} s") from None
    if code != 0 or not out_file.exists():
        tail = (out_file.parent / out_file.name.replace("-out.json", "-node.log")).read_text()[-2000:]
        raise RuntimeError(f"mixload failed ({code}):\n{tail}")
    out: dict[str, Any] = json.loads(out_file.read_text())
    return out


def graph_calls(base_url: str, authorization: str | None) -> dict[str, dict[str, float]]:
    """Per graph/ function, calls and mean/total seconds, from the server's /metrics (the one worker
    that answered, when there are several; it needs an admin or service key)."""
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(f"{base_url}/metrics", headers={"authorization": authorization or ""})
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "persona_neo4j_call_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_sum"):
                sums[sample.labels["function"]] = sample.value
            elif sample.name.endswith("_count"):
                counts[sample.labels["function"]] = sample.value
    return {
        fn: {
            "calls": int(counts[fn]),
            "mean_ms": round(1000 * sums[fn] / counts[fn], 1),
            "total_s": round(sums[fn], 1),
        }
        for fn in sorted(counts, key=lambda f: -sums.get(f, 0.0))
        if counts[fn]
    }


def over_time(timeline: list[list[Any]], start_ms: float, window_s: float = 10.0) -> list[dict[str, Any]]:
    """Requests, errors and latency per ``window_s`` window (by request start), warm-up included."""
    windows: dict[int, list[list[Any]]] = {}
    for entry in timeline:
        windows.setdefault(int((entry[0] - start_ms) / 1000 // window_s), []).append(entry)
    rows = []
    for index in sorted(windows):
        entries = windows[index]
        everything = sorted(e[4] for e in entries)
        writes = sorted(e[4] for e in entries if e[1] == WRITE)
        rows.append(
            {
                "from_s": index * window_s,
                "requests": len(entries),
                "errors": sum(1 for e in entries if not e[2]),
                "p50_ms": percentile(everything, 50),
                "p99_ms": percentile(everything, 99),
                f"{WRITE}_requests": len(writes),
                f"{WRITE}_p50_ms": percentile(writes, 50),
                f"{WRITE}_max_ms": writes[-1] if writes else None,
            }
        )
    return rows


def percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)


def op_summary(op: dict[str, Any], seconds: float) -> dict[str, Any]:
    """requests, req/s, p50/p95/p99/max and errors (by code) of one operation's measured part."""
    ordered = sorted(op["latencies"])
    errors = dict(sorted(op["errors"].items()))
    return {
        "requests": op["requests"],
        "rps": round(op["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": round(ordered[-1], 1) if ordered else None,
        "errors": sum(errors.values()),
        "errors_by_code": errors,
        "warmup_requests": op["warmup"]["requests"],
        "warmup_errors": op["warmup"]["errors"],
    }


def summarize(out: dict[str, Any]) -> dict[str, Any]:
    seconds = (out["endedAt"] - out["measuredFrom"]) / 1000
    per_op = {name: op_summary(op, seconds) for name, op in out["ops"].items()}
    merged = {
        "latencies": [ms for op in out["ops"].values() for ms in op["latencies"]],
        "requests": sum(op["requests"] for op in out["ops"].values()),
        "errors": dict(sum((Counter(op["errors"]) for op in out["ops"].values()), Counter())),
        "warmup": {k: sum(op["warmup"][k] for op in out["ops"].values()) for k in ("requests", "errors")},
    }
    per_op["all"] = op_summary(merged, seconds)
    return {"measured_seconds": round(seconds, 1), "operations": per_op}


# --- the events, looked up in Neo4j ---------------------------------------------------------------


def verify_events(store: GraphStore, events: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Every acknowledged recordEvent (eventIds starting with ``prefix``) in the graph exactly once.

    Keys are collected from the eventKeys of every behaviour edge holding one of this run's keys;
    an edge whose count differs from its number of keys, or which holds a key twice, counts too."""
    records, _, _ = store.driver.execute_query(
        "MATCH ()-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() "
        "WHERE any(k IN r.eventKeys WHERE k STARTS WITH $prefix) "
        "RETURN r.eventKeys AS keys, r.count AS count",
        prefix=prefix,
    )
    stored: Counter[str] = Counter()
    inconsistent = 0
    for r in records:
        keys = r["keys"]
        if r["count"] != len(keys) or len(set(keys)) != len(keys):
            inconsistent += 1
        stored.update(k for k in keys if k.startswith(prefix))
    sent, acked = set(events["sent"]), set(events["acked"])
    missing = sorted(acked - set(stored))
    doubled = sorted(k for k, n in stored.items() if n > 1)
    unacked_found = sorted(set(stored) & (sent - acked))
    return {
        "sent": len(sent),
        "acknowledged": len(acked),
        "acknowledged_not_new": len(events["notNew"]),
        "found": len(acked & set(stored)),
        "missing": len(missing),
        "missing_sample": missing[:10],
        "doubled": len(doubled),
        "doubled_sample": doubled[:10],
        "edges_count_mismatch": inconsistent,
        "unacknowledged_but_stored": len(unacked_found),
        "unacknowledged_but_stored_sample": unacked_found[:10],
        "stored_not_sent": len(set(stored) - sent),
        "failed_by_code": dict(Counter(events["failed"].values())),
    }


def code_digest() -> str:
    """A digest of the code under test (api/, graph/, cypher/), so a result names what it measured."""
    digest = hashlib.sha256()
    for path in sorted(p for d in ("api", "graph", "cypher") for p in (ROOT / d).rglob("*") if p.is_file()):
        if path.suffix in (".py", ".cypher"):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def fold_process(info: ConnectionInfo, workdir: Path) -> Iterator[None]:
    """`persona events fold` in a process of its own beside the server (--fold-process), whose workers
    then do not fold (PERSONA_EVENTS_FOLD_IN_API=0, set before the server starts)."""
    env = {
        **os.environ,
        **private_env(workdir),
        **persona_neo4j_env(info),
    }
    persona = Path(sys.executable).parent / "persona"
    with (workdir / "fold.log").open("wb") as out:
        proc = subprocess.Popen(
            [str(persona), "events", "fold"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def no_rate_limit(per_minute: int) -> None:
    """The API's per-client rate limit (PERSONA_API_RATE_LIMIT, 600 a minute by default) for the server
    the bench starts (bench.api.personagraph_server passes this process's environment on). Every
    client of a bench sends the same API key, one budget: left on, it answers 429 to nearly everything."""
    os.environ["PERSONA_API_RATE_LIMIT"] = str(per_minute)


class LoadSampler:
    """The 1-minute load average every few seconds while a run goes on (other work shows in it)."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.samples: list[float] = []
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(round(os.getloadavg()[0], 2))
            if self._stop.wait(self._every):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(round(os.getloadavg()[0], 2))

    def summary(self) -> dict[str, Any]:
        s = self.samples
        return {"min": min(s), "max": max(s), "mean": round(sum(s) / len(s), 2), "samples": s}


# --- report --------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def probe_text(probes: list[dict[str, Any]]) -> str:
    if not probes:
        return (
            "Cold start (--cold): no recordEvent before the load, so its first writes met the server's cold "
            "tag cache together (each computing the rule cut-offs over all users)."
        )
    times = ", then ".join(
        f"{p['ms']:,.0f} ms{'' if p['ok'] else ' (' + str(p['code']) + ')'}" for p in probes
    )
    return (
        f"Before the load, {len(probes)} single recordEvents one after the other took {times}: the first "
        "meets the server's cold tag cache (rule cut-offs over all users, cached per process for 300 s), "
        "which then stays warm for the whole run (see --cold)."
    )


def markdown(result: dict[str, Any]) -> str:
    v, ev, la = result["versions"], result["events"], result["loadavg_1min"]
    mix = ", ".join(f"{op} {share} %" for op, share in result["mix"].items())
    ops = result["operations"]
    errors = ops["all"]["errors"]
    lines = [
        f"# Load test ({result['users']:,} users, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}; Node {v['node']}. "
        f"personagraph served by uvicorn {v['python uvicorn']}, {result['workers']} worker(s), "
        f"events folded {result.get('fold', 'in the API')}, "
        f"strawberry-graphql {v['python strawberry-graphql']}, on loopback; its per-client rate limit "
        f"(PERSONA_API_RATE_LIMIT) {result['rate_limit_per_minute'] or 'off'} (all bench clients share "
        "one API key); credentials required as in production: every request sends an admin API key, so "
        "authentication and the access-control walk are included, and recordEvents are audited; code "
        f"under test: api/, graph/, cypher/ digest {result['code_digest']}.",
        "",
        f"Load: bench/api-node/mixload.mjs in its own Node process, {result['clients']} concurrent clients "
        f"(one keep-alive connection each, next request when the last is answered) for "
        f"{result['measured_seconds']} s after a {result['warmup_s']} s warm-up; mix (drawn per request, "
        f"seeded): {mix}. Reads cycle through {result['pool']} inputs per query; each recordEvent is a "
        f"VIEW/CLICK/LIKE of a random product by one of {result['event_users']:,} users with a new eventId. "
        "Errors = non-2xx, socket errors/timeouts, GraphQL `errors` in the body (every body checked), or "
        "a recordEvent answer not echoing its eventId. Neo4j, the server and the load generator share the "
        f"machine's cores with other work: the 1-minute load average went from {la['min']} to {la['max']} "
        f"(mean {la['mean']}) during the run.",
        "",
        probe_text(result["probes"]),
        "",
        "| operation | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, o in ops.items():
        label = "**all**" if name == "all" else name
        codes = ", ".join(f"{c}: {n}" for c, n in o["errors_by_code"].items())
        lines.append(
            f"| {label} | {o['requests']:,} | {o['rps']:,.1f} | {_ms(o['p50_ms'])} | {_ms(o['p95_ms'])} | "
            f"{_ms(o['p99_ms'])} | {_ms(o['max_ms'])} | {o['errors']}{f' ({codes})' if codes else ''} |"
        )
    lines += [
        "",
        f"recordEvent in Neo4j afterwards (warm-up included): {ev['sent']:,} sent, "
        f"{ev['acknowledged']:,} acknowledged, {ev['found']:,} of those found, {ev['missing']} missing, "
        f"{ev['doubled']} stored twice, {ev['edges_count_mismatch']} edges whose count differs from their "
        f"keys; {ev['unacknowledged_but_stored']} failed answers whose event was stored anyway; "
        f"{ev['acknowledged_not_new']} acknowledged with new=false.",
        "",
        f"Target: 0 errors: {'met' if errors == 0 and ops['all']['warmup_errors'] == 0 else 'NOT met'} "
        f"({errors} in the measured part, {ops['all']['warmup_errors']} in the warm-up); every "
        f"acknowledged event exactly once: {'yes' if result['events_ok'] else 'NO'}. "
        f"p99 over all operations: {_ms(ops['all']['p99_ms'])} ms.",
        "",
    ]
    if result.get("error_samples"):
        lines += ["Error samples:", "", *[f"- `{s[:300]}`" for s in result["error_samples"]], ""]
    lines += [
        "Over time (10 s windows by request start, warm-up included; all operations, and recordEvent):",
        "",
        "| from s | requests | errors | p50 ms | p99 ms | recordEvent | recordEvent p50 ms | recordEvent max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for w in result["over_time_10s"]:
        lines.append(
            f"| {w['from_s']:.0f} | {w['requests']:,} | {w['errors']} | {_ms(w['p50_ms'])} | {_ms(w['p99_ms'])} | "
            f"{w[f'{WRITE}_requests']} | {_ms(w[f'{WRITE}_p50_ms'])} | {_ms(w[f'{WRITE}_max_ms'])} |"
        )
    lines += [
        "",
        "Time in graph/ calls inside the server (its /metrics, whole run; a recordEvent is record_event, "
        "which re-tags the user and refreshes their saved audiences, and get_user; each call runs in a "
        "worker thread):",
        "",
        "| graph/ function | calls | mean ms | total s |",
        "|---|---:|---:|---:|",
        *[
            f"| {fn} | {c['calls']:,} | {_ms(c['mean_ms'])} | {c['total_s']:,.1f} |"
            for fn, c in result["graph_calls"].items()
        ],
        "",
    ]
    lines += [
        f"Setup: loaded ({', '.join(f'{k} {s}s' for k, s in result['load_seconds'].items())}); "
        f"co-purchase: {result['copurchase_pairs']:,} BOUGHT_WITH edges.",
        "",
    ]
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def run_load(
    info: ConnectionInfo, store: GraphStore, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    pool = pick_pool(store, args.pool, args.seed)
    prefix = f"load-{int(time.time())}-"
    job = {
        "url": "",
        "clients": args.clients,
        "duration": args.duration,
        "warmup": args.warmup,
        "seed": args.seed,
        "timeoutMs": 60_000,
        "timeline": True,
        "mix": MIX,
        "bodies": {q: [body(OURS, q, item, "") for item in pool[q]] for q in READS},
        "event": event_job(store, prefix, args.event_users, args.seed),
    }
    port = free_port()
    job["url"] = f"http://127.0.0.1:{port}/graphql"
    folding = fold_process(info, workdir) if args.fold_process else contextlib.nullcontext()
    with (
        personagraph_server(info, port, args.workers, workdir) as authorization,
        folding,
        LoadSampler() as sampler,
    ):
        probes = [] if args.cold else probe_events(job["url"], job["event"], authorization)
        log.info("driving %d clients for %.0f s (+%.0f s warm-up)", args.clients, args.duration, args.warmup)
        proc, out_file = start_mixload(job, workdir, "load", authorization)
        out = finish_mixload(proc, out_file, args.warmup + args.duration + 300)
        calls = graph_calls(f"http://127.0.0.1:{port}", authorization)
    add_probes(out["events"], probes)
    summary = summarize(out)
    log.info("%s", json.dumps(summary["operations"]["all"]))
    events = verify_events(store, out["events"], prefix)
    log.info("events: %s", events)
    server_log = (workdir / f"{OURS}.log").read_text(errors="replace")
    return {
        **summary,
        "events": events,
        "events_ok": events["missing"] == 0
        and events["doubled"] == 0
        and events["edges_count_mismatch"] == 0
        and events["found"] == events["acknowledged"],
        "error_samples": out["errorSamples"],
        "probes": probes,
        "over_time_10s": over_time(out["timeline"], out["startedAt"]),
        "graph_calls": calls,
        "server_log_tail": server_log[-3000:] if server_log.strip() else "",
        "loadavg_1min": sampler.summary(),
        "pool": args.pool,
        "event_users": len(job["event"]["users"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: 5k users, 15 s + 5 s warm-up")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    parser.add_argument("--pool", type=int, default=100, help="different inputs per read query")
    parser.add_argument("--event-users", type=int, default=5000, help="users recordEvent picks from")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="the server's PERSONA_API_RATE_LIMIT (requests a minute per client); 0, the default, is off",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no single recordEvents before the load: its first writes meet the cold tag cache together",
    )
    parser.add_argument(
        "--fold-process",
        action="store_true",
        help="fold events in `persona events fold`, a process of its own, not in the API's worker processes",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    if args.quick:
        args.users, args.duration, args.warmup = 5_000, 15.0, 5.0
    if args.fold_process:
        os.environ["PERSONA_EVENTS_FOLD_IN_API"] = "0"  # the server the bench starts passes it on
    npm_install()
    no_rate_limit(args.rate_limit)
    data = dataset(args.users, args.seed)

    with (
        tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
    ):
        workdir = Path(tmp)
        driver = open_driver(info, wait_s=60)
        store = GraphStore(driver, "neo4j")
        load_seconds = load(store, data, KINDS, workdir / "rejects")
        log.info("co-purchase analysis")
        copurchase = run_copurchase(store)
        loaded = driver.execute_query("MATCH (u:User) RETURN count(u) AS n")[0][0]["n"]
        run = run_load(info, store, args, workdir)
        driver.close()

    result = {
        "users": loaded,
        "seed": args.seed,
        "clients": args.clients,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "workers": args.workers,
        "fold": "in `persona events fold`, its own process" if args.fold_process else "in the API",
        "mix": MIX,
        "rate_limit_per_minute": args.rate_limit,
        "code_digest": code_digest(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "versions": versions(),
        "load_seconds": load_seconds,
        "copurchase_pairs": copurchase.pairs_written,
        "operations_text": {**{q: PERSONAGRAPH[q] for q in READS}, WRITE: RECORD_EVENT},
        **run,
    }
    write_results("load", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

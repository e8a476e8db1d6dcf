"""Fault runs: longer versions of tests/test_api_faults.py and tests/test_load_faults.py, on one fresh
local Neo4j holding a generated dataset (5k users by default, --users for more).

First a clean `persona load` of the whole dataset gives the reference graph (its fingerprint: nodes
per label set and edges per type, counted and digested over their properties; clock-set properties
and analytics results left out). Then:

(a) restart: personagraph (uvicorn, 1 worker) under a recordEvent load (bench/api-node/mixload.mjs,
    --clients clients, each event with a new eventId) while the bench stops its Neo4j (SIGTERM, via
    graph.server.local.LocalNeo4j), waits --down seconds and starts it again. Expected: while it is
    down the API answers UNAVAILABLE and /readyz 503 (polled every 0.5 s), then recovers without being
    restarted, and every acknowledged event is in the graph exactly once.
(b) two loaders at once: for each file kind in dependency order, two `persona load` subprocesses
    (NEO4J_URI etc. in their environment) start together on overlapping inputs: one the whole file,
    the other the first two thirds of its rows (entity files: all of it), in different batch sizes.
    Expected: the graph equals the clean load.
(c) kill: `persona load` of the whole dataset is killed with SIGKILL while one of its write
    transactions is open (seen in SHOW TRANSACTIONS), during the events file, then run again.
    Expected: the graph equals the clean load.
(d) analytics during writes: users and everything but events and ties are loaded; then a writer
    (`persona load` of events and ties, then ties again and again until told to stop) runs while
    `persona analyze influence` runs --analyses times. Expected: each analysis finishes (exit 0, its
    AnalyticsRun 'done'), every user carries the last run's id and a score, and the graph otherwise
    equals the clean load.

Each run is one row: ops, acknowledged, found, doubled, errors by code, recovery seconds (details
in the JSON). Results: bench/results/faults.json and bench/results/faults.md. Not part of the suite.

In (a) personagraph requires credentials, as in production: bench.api.personagraph_server makes an
admin API key in the work directory and every recordEvent (mixload.mjs, via BENCH_AUTHORIZATION, and
the probes) sends it as `Authorization: Bearer`, so each request also pays for authentication and the
access-control walk (the /readyz and /healthz probes need none). The server and the `persona`
subprocesses keep their audit log and master secret in the work directory, not the user's data dir.

    .venv/bin/python bench/faults.py                 # 5k users (~10-15 minutes on 2 busy cores)
    .venv/bin/python bench/faults.py --users 30000   # bigger
    .venv/bin/python bench/faults.py --only a,c      # some runs only
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neo4j import Driver

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import OURS, npm_install, personagraph_server, versions  # noqa: E402 - after the path setup
from bench.common import machine, private_env, write_results  # noqa: E402
from bench.graphs import SALT, dataset, fresh_neo4j  # noqa: E402
from bench.load import (  # noqa: E402
    WRITE,
    LoadSampler,
    add_probes,
    code_digest,
    event_job,
    finish_mixload,
    no_rate_limit,
    percentile,
    probe_events,
    probe_text,
    start_mixload,
    verify_events,
)
from personagraph.graph.server.choose import local_neo4j  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, DriverTuning, open_driver, ping  # noqa: E402
from personagraph.graph.server.local import LocalNeo4j, free_port  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.faults")
PERSONA = Path(sys.executable).with_name("persona")
ORDER = ("channels", "products", "users", "identities", "tags", "user_tags", "orders", "events", "ties")
ENTITIES = {"channels", "products", "users", "tags"}  # both loaders of (b) get all of these
# Left out of the fingerprint: set from the clock when a row gives none (as tests/test_load_faults.py),
# and what `persona analyze influence` writes on users (run (d) checks those itself).
PHASES = ("before", "stopping", "stopped", "starting", "after")  # (a), by request start
VOLATILE = {  # graph/fingerprint.py's LOAD_TIME: a consent statement without a time takes the load's
    "assignedAt",
    "resolvedAt",
    "recordedAt",
    "marketingConsentAt",
    "personalizationOptOutAt",
    "consentUpdatedAt",
}
INFLUENCE = {"influence", "influenceRank", "degree", "reach2", "influenceRunId", "influenceComputedAt"}
KEYS = ["userId", "sku", "orderId", "channelId", "tagId", "categoryId", "brandId", "term", "communityId"]


# A node's identity by its key property ($keys), the same in two loads of the same data.
EDGES = """
MATCH (a)-[r]->(b) WHERE NOT a:AnalyticsRun AND NOT b:AnalyticsRun
RETURN type(r) AS t,
       coalesce([k IN $keys WHERE a[k] IS NOT NULL | k + '=' + toString(a[k])][0],
                'identity=' + a.kind + '/' + a.value, labels(a)[0] + '@' + elementId(a)) AS a,
       coalesce([k IN $keys WHERE b[k] IS NOT NULL | k + '=' + toString(b[k])][0],
                'identity=' + b.kind + '/' + b.value,
                // a consent change has no key: what it records, its clock times left out (VOLATILE)
                CASE WHEN b:ConsentChange THEN 'consent=' + b.purpose + '/' + toString(b.granted) + '/' +
                          b.source + '/' + toString(b.applied) END,
                labels(b)[0] + '@' + elementId(b)) AS b,
       properties(r) AS p
"""
# The behaviour relationship types (bench/load.py BEHAVIOUR), and those with the social ties.
BEHAVIOUR_TOTALS = (
    "MATCH ()-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() "
    "RETURN sum(size(r.eventKeys)) AS keys, sum(r.count) AS n"
)
BEHAVIOUR_EDGES = "MATCH ()-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED]->() RETURN count(r) AS n"
WRITTEN_EDGES = (
    "MATCH ()-[r:VIEWED|CLICKED|LIKED|COMMENTED|SHARED|SEARCHED|FRIEND_OF|FOLLOWS|REFERRED]->() "
    "RETURN count(r) AS n"
)


# --- the graph's fingerprint ---------------------------------------------------------------------


@dataclass
class Fingerprint:
    """Per node label set and edge type: how many, and an order-free digest of their contents."""

    counts: dict[str, int] = field(default_factory=dict)
    digests: dict[str, int] = field(default_factory=dict)
    event_keys: int = 0  # sum of size(eventKeys) over behaviour edges
    event_count: int = 0  # sum of their counts

    def add(self, group: str, text: str) -> None:
        h = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
        self.counts[group] = self.counts.get(group, 0) + 1
        self.digests[group] = (self.digests.get(group, 0) + h) % 2**64

    @property
    def nodes(self) -> int:
        return sum(n for g, n in self.counts.items() if g.startswith("("))

    @property
    def edges(self) -> int:
        return sum(n for g, n in self.counts.items() if g.startswith("["))


def _canonical(props: dict[str, Any]) -> str:
    volatile = VOLATILE | INFLUENCE | ({"at"} if "recordedAt" in props else set())  # a ConsentChange's time
    kept = {k: (sorted(v) if k == "eventKeys" else v) for k, v in props.items() if k not in volatile}
    return repr(sorted((k, str(v)) for k, v in kept.items()))


def fingerprint(store: GraphStore) -> Fingerprint:
    found = Fingerprint()
    with store.driver.session(database=store.database) as session:
        for r in session.run(
            "MATCH (n) WHERE NOT n:SchemaMigration AND NOT n:AnalyticsRun "
            "RETURN labels(n) AS l, properties(n) AS p"
        ):
            found.add("(" + ":".join(sorted(r["l"])) + ")", _canonical(r["p"]))
        for r in session.run(EDGES, keys=KEYS):
            found.add(f"[{r['t']}]", f"{r['a']} {r['b']} {_canonical(r['p'])}")
        totals = session.run(BEHAVIOUR_TOTALS).single()
    assert totals is not None
    found.event_keys, found.event_count = int(totals["keys"] or 0), int(totals["n"] or 0)
    return found


def compare(found: Fingerprint, clean: Fingerprint) -> dict[str, Any]:
    """Where ``found`` differs from the clean load: per group, counts and whether contents are equal."""
    differing = {
        g: {"clean": clean.counts.get(g, 0), "found": found.counts.get(g, 0)}
        for g in sorted(set(found.counts) | set(clean.counts))
        if found.digests.get(g) != clean.digests.get(g) or found.counts.get(g) != clean.counts.get(g)
    }
    excess = sum(max(0, d["found"] - d["clean"]) for d in differing.values())
    missing = sum(max(0, d["clean"] - d["found"]) for d in differing.values())
    return {
        "nodes": found.nodes,
        "edges": found.edges,
        "clean_nodes": clean.nodes,
        "clean_edges": clean.edges,
        "counts_equal": found.counts == clean.counts,
        "content_equal": found.counts == clean.counts and found.digests == clean.digests,
        "event_keys": found.event_keys,
        "clean_event_keys": clean.event_keys,
        "excess": excess + max(0, found.event_keys - clean.event_keys),
        "missing": missing + max(0, clean.event_keys - found.event_keys),
        "differing_groups": differing,
    }


def wipe(store: GraphStore) -> None:
    store.run_autocommit("server/write/wipe_data")


# --- persona subprocesses ------------------------------------------------------------------------


def persona_env(info: ConnectionInfo, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        **private_env(workdir),  # audit log and master secret (suppression list key) in the work dir
        "NEO4J_URI": info.uri,
        "NEO4J_USER": info.user,
        "PERSONA_NEO4J_PASSWORD": info.password,
        "PERSONA_NEO4J_DATABASE": info.database,
        "PERSONA_IDENTITY_SALT": SALT,
    }


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    started: float
    log: Path
    report: Path | None = None


def start_persona(info: ConnectionInfo, args: list[str], workdir: Path, name: str) -> Proc:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [str(PERSONA), *args],
            cwd=ROOT,
            env=persona_env(info, workdir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Proc(name, proc, time.time(), log_path)


def start_loader(info: ConnectionInfo, target: Path, workdir: Path, name: str, batch_size: int) -> Proc:
    report = workdir / f"{name}-report.json"
    report.unlink(missing_ok=True)
    args = ["load", str(target), "--rejects", str(workdir / f"rejects-{name}"), "--report-json", str(report)]
    p = start_persona(info, [*args, "--batch-size", str(batch_size)], workdir, name)
    p.report = report
    return p


def finish(p: Proc, timeout_s: float = 3600) -> dict[str, Any]:
    """Wait for a persona subprocess; its exit code, seconds and (loaders) rows read/loaded/rejected."""
    code = p.proc.wait(timeout_s)
    out: dict[str, Any] = {"exit": code, "seconds": round(time.time() - p.started, 1)}
    if p.report is not None and p.report.exists():
        files = json.loads(p.report.read_text())
        for k in ("read", "loaded", "rejected"):
            out[k] = sum(f[k] for f in files)
    if code not in (0, 3):  # 3: some rows rejected (the generated data has planted bad rows)
        out["log_tail"] = p.log.read_text(errors="replace")[-2000:]
    return out


def subset(data: Path, folder: Path, kinds: tuple[str, ...], fraction: float = 1.0) -> Path:
    """A dataset folder with some kinds: entity files whole (links), others their first ``fraction``."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        source, target = data / f"{kind}.csv", folder / f"{kind}.csv"
        if not source.exists():
            continue
        if fraction >= 1.0 or kind in ENTITIES:
            target.symlink_to(source)
            continue
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        keep = 1 + int((len(lines) - 1) * fraction)
        target.write_text("".join(lines[:keep]), encoding="utf-8")
    return folder


def count_edges(store: GraphStore, statement: str) -> int:
    """How many edges ``statement`` (BEHAVIOUR_EDGES or WRITTEN_EDGES) counts."""
    records, _, _ = store.driver.execute_query(statement, database_=store.database)
    return int(records[0]["n"])


# --- (a) Neo4j stopped and started under a recordEvent load --------------------------------------


class Poller:
    """Calls ``probe`` every ``every_s`` from a thread: (sent at, answered at, status) samples."""

    def __init__(self, probe: Callable[[], int], every_s: float = 0.5) -> None:
        self.probe, self.every = probe, every_s
        self.samples: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.time()
            status = self.probe()
            self.samples.append((sent, time.time(), status))
            self._stop.wait(self.every)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def first_ok_after(self, t: float) -> float | None:
        """When the first probe sent after ``t`` that succeeded was answered."""
        return next((done for sent, done, status in self.samples if sent >= t and status == 200), None)


def readyz_probe(base_url: str) -> Callable[[], int]:
    """GET /readyz: its HTTP status, 0 when the app does not answer."""

    def probe() -> int:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError):
            return 0

    return probe


def bolt_probe(info: ConnectionInfo) -> tuple[Callable[[], int], Driver]:
    """Neo4j itself, straight from the bench (not through the app): 200 when a ping answers, else 503.
    A driver of its own that fails fast, like the API's (5 s connection timeout, no retries)."""
    driver = open_driver(info, wait_s=30, tuning=DriverTuning(10, 5.0, 5.0, 0.0))
    return (lambda: 200 if ping(driver, info.database) else 503), driver


def _wait_for(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.2)


def run_restart(
    info: ConnectionInfo, local: LocalNeo4j, store: GraphStore, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    prefix = f"fault-a-{int(time.time())}-"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    job = {
        "url": f"{base}/graphql",
        "clients": args.clients,
        "duration": 3600,  # stopped by SIGTERM once recovery has been seen
        "warmup": 0,
        "seed": args.seed,
        "timeoutMs": 120_000,
        "timeline": True,
        "mix": {WRITE: 1},
        "bodies": {},
        "event": event_job(store, prefix, 5000, args.seed),
    }
    marks: dict[str, float] = {}
    probe, bolt_driver = bolt_probe(info)
    with personagraph_server(info, port, 1, workdir) as authorization, LoadSampler() as sampler:
        # warm the tag cache, as bench/load.py does
        probes = probe_events(job["url"], job["event"], authorization)
        ready, bolt = Poller(readyz_probe(base)).start(), Poller(probe).start()
        proc, out_file = start_mixload(job, workdir, "fault-a", authorization)
        marks["load_started"] = time.time()
        try:
            time.sleep(args.before)
            marks["stop_sent"] = time.time()
            log.info("(a) stopping Neo4j")
            local.stop()
            marks["neo4j_stopped"] = time.time()
            time.sleep(args.down)
            marks["start_sent"] = time.time()
            log.info("(a) starting Neo4j")
            local.start()
            marks["launcher_ready"] = time.time()
            _wait_for(lambda: bolt.first_ok_after(marks["start_sent"]) is not None, 180, "Neo4j answering")
            _wait_for(lambda: ready.first_ok_after(marks["start_sent"]) is not None, 180, "/readyz 200")
            # Neo4j answers (a ping from the bench) before the launcher has seen its READY line.
            marks["neo4j_answering"] = bolt.first_ok_after(marks["start_sent"]) or 0.0
            marks["readyz_ok"] = ready.first_ok_after(marks["start_sent"]) or 0.0
            time.sleep(args.after)
        finally:
            proc.send_signal(signal.SIGTERM)
            out = finish_mixload(proc, out_file, 300)
            ready.stop()
            bolt.stop()
            bolt_driver.close()
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            alive_after = response.status == 200  # the same uvicorn process: the bench never restarts it
    add_probes(out["events"], probes)
    events = verify_events(store, out["events"], prefix)
    return {
        "probes": probes,
        "marks": marks,
        **restart_analysis(out, ready.samples, bolt.samples, marks),
        "events": events,
        "app_answering_after": alive_after,
        "loadavg_1min": sampler.summary(),
        "server_log_tail": (workdir / f"{OURS}.log").read_text(errors="replace")[-3000:],
        "error_samples": out["errorSamples"],
    }


def restart_analysis(
    out: dict[str, Any],
    ready: list[tuple[float, float, int]],
    bolt: list[tuple[float, float, int]],
    marks: dict[str, float],
) -> dict[str, Any]:
    """What clients, /readyz and a direct ping saw in each phase (timeline times are epoch ms)."""
    back = marks["neo4j_answering"]
    timeline = out["timeline"]  # [start ms, op, ok, code, latency ms]
    ends = [("before", marks["stop_sent"]), ("stopping", marks["neo4j_stopped"]),
            ("stopped", marks["start_sent"]), ("starting", back)]  # fmt: skip

    def phase(sent_s: float) -> str:
        return next((name for name, end in ends if sent_s < end), "after")

    def by_phase(samples: list[tuple[float, float, int]]) -> dict[str, dict[str, int]]:
        counts: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
        for sent, _, status in samples:
            counts[phase(sent)][str(status or "no answer")] += 1
        return {p: dict(c) for p, c in counts.items()}

    codes: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
    for start, _, ok, code, _ in timeline:
        codes[phase(start / 1000)]["ok" if ok else code] += 1
    done_ok = [(start + ms) / 1000 for start, _, ok, _, ms in timeline if ok]
    first_ok_after = min((t for t in done_ok if t > back), default=None)
    failures = [(start + ms) / 1000 for start, _, ok, _, ms in timeline if not ok]
    sent_after = [(ok, ms) for start, _, ok, _, ms in timeline if start / 1000 >= back]
    return {
        "responses_by_phase": {p: dict(c) for p, c in codes.items()},
        "readyz_by_phase": by_phase(ready),
        "bolt_by_phase": by_phase(bolt),
        "stopping_s": round(marks["neo4j_stopped"] - marks["stop_sent"], 1),
        "stopped_s": round(marks["start_sent"] - marks["neo4j_stopped"], 1),
        "starting_s": round(back - marks["start_sent"], 1),
        "unreachable_s": round(back - marks["stop_sent"], 1),
        "launcher_ready_after_answering_s": round(marks["launcher_ready"] - back, 1),
        "recovery_s": round(first_ok_after - back, 2) if first_ok_after else None,
        "readyz_recovery_s": round(marks["readyz_ok"] - back, 2),
        "client_outage_s": round(max(failures) - min(failures), 1) if failures else 0.0,
        "sent_after_recovery": {
            "requests": len(sent_after),
            "failed": sum(1 for ok, _ in sent_after if not ok),
            "max_ms": max((ms for _, ms in sent_after), default=None),
        },
        "slowest_ms": sorted(ms for _, _, _, _, ms in timeline)[-5:],
        "failed_answer_ms": {
            "p50": percentile(sorted(ms for _, _, ok, _, ms in timeline if not ok), 50),
            "max": max((ms for _, _, ok, _, ms in timeline if not ok), default=None),
        },
        "errors_by_code": dict(sorted(out["ops"][WRITE]["errors"].items())),
        "requests": out["ops"][WRITE]["requests"],
    }


# --- (b) two loaders at once ---------------------------------------------------------------------


def run_two_loaders(
    info: ConnectionInfo,
    store: GraphStore,
    data: Path,
    clean: Fingerprint,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    wipe(store)
    part = subset(data, workdir / "b-two-thirds", ORDER, 2 / 3)
    steps = []
    for kind in ORDER:
        if not (data / f"{kind}.csv").exists():
            continue
        log.info("(b) %s: two loaders at once", kind)
        a = start_loader(info, data / f"{kind}.csv", workdir, f"b-{kind}-whole", args.batch_size)
        b = start_loader(
            info, part / f"{kind}.csv", workdir, f"b-{kind}-part", max(1, args.batch_size * 7 // 10)
        )
        done: dict[str, Any] = {"kind": kind, "whole": finish(a), "part": finish(b)}
        done["overlap_s"] = round(
            min(a.started + done["whole"]["seconds"], b.started + done["part"]["seconds"])
            - max(a.started, b.started),
            1,
        )
        steps.append(done)
    return {"steps": steps, "graph": compare(fingerprint(store), clean)}


# --- (c) a loader killed mid-batch, then run again -----------------------------------------------


def open_loader_transactions(store: GraphStore) -> list[str]:
    """The statements (first comment line) of loader write transactions open right now."""
    records, _, _ = store.driver.execute_query(
        "SHOW TRANSACTIONS YIELD currentQuery WHERE currentQuery STARTS WITH '// merge_' RETURN currentQuery AS q"
    )
    return [r["q"].splitlines()[0][3:].split(":")[0] for r in records]


def run_kill(
    info: ConnectionInfo,
    store: GraphStore,
    data: Path,
    clean: Fingerprint,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    wipe(store)
    rng = random.Random(args.seed)
    killed = start_loader(info, data, workdir, "c-killed", args.batch_size)
    _wait_for(
        lambda: count_edges(store, BEHAVIOUR_EDGES) > 0 or killed.proc.poll() is not None,
        1800,
        "events loading",
    )
    time.sleep(rng.uniform(0.5, 3.0))  # somewhere into the events file
    in_flight: list[str] = []
    deadline = time.monotonic() + 60
    while killed.proc.poll() is None and time.monotonic() < deadline:
        in_flight = open_loader_transactions(store)
        if in_flight:
            break  # kill at once, while that batch is still open
        time.sleep(0.005)
    if killed.proc.poll() is not None:
        raise RuntimeError("the loader finished before it could be killed; use a bigger --users")
    killed.proc.send_signal(signal.SIGKILL)
    killed_after = round(time.time() - killed.started, 1)
    killed.proc.wait()
    time.sleep(2)  # the server rolls the open transaction back when its connection drops
    partial = compare(fingerprint(store), clean)
    log.info("(c) killed after %.1f s during %s; re-running", killed_after, in_flight)
    rerun = finish(start_loader(info, data, workdir, "c-rerun", args.batch_size))
    return {
        "killed_after_s": killed_after,
        "open_transactions_at_kill": in_flight,
        "after_kill": {k: partial[k] for k in ("nodes", "edges", "event_keys")},
        "rerun": rerun,
        "graph": compare(fingerprint(store), clean),
    }


# --- (d) analytics during writes ----------------------------------------------------------------


def run_analytics(
    info: ConnectionInfo,
    store: GraphStore,
    data: Path,
    clean: Fingerprint,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    wipe(store)
    base = subset(data, workdir / "d-base", tuple(k for k in ORDER if k not in ("events", "ties")))
    writes = subset(data, workdir / "d-writes", ("events", "ties"))
    ties = subset(data, workdir / "d-ties", ("ties",))
    log.info("(d) loading the base")
    base_load = finish(start_loader(info, base, workdir, "d-base", args.batch_size))
    stop = threading.Event()
    passes: list[dict[str, Any]] = []

    def writer() -> None:
        target = writes
        while True:
            p = start_loader(info, target, workdir, f"d-writer-{len(passes)}", max(1, args.batch_size // 5))
            passes.append({"target": target.name, "started": p.started, **finish(p)})
            passes[-1]["ended"] = time.time()
            if stop.is_set():
                return
            target = ties  # again: changes nothing, still takes the same locks

    thread = threading.Thread(target=writer)
    thread.start()
    _wait_for(lambda: count_edges(store, WRITTEN_EDGES) > 0, 600, "the writer")
    analyses = []
    for i in range(args.analyses):
        log.info("(d) persona analyze influence (%d) during writes", i + 1)
        before = {r["id"] for r in _runs(store)}
        p = start_persona(info, ["analyze", "influence"], workdir, f"d-analyze-{i}")
        done = finish(p)
        done["ended"] = time.time()
        new = [r for r in _runs(store) if r["id"] not in before]
        done["runs"] = new
        analyses.append({"started": p.started, **done})
    stop.set()
    thread.join()
    for a in analyses:  # did a writer pass cover the analysis from start to end?
        a["overlapping_writer_passes"] = [
            w["target"] for w in passes if w["started"] < a["ended"] and w["ended"] > a["started"]
        ]
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) RETURN count(u) AS users, count(u.influence) AS scored, "
        "collect(DISTINCT u.influenceRunId) AS runIds"
    )
    stamps = dict(records[0])
    last = analyses[-1]["runs"][0]["id"] if analyses and analyses[-1]["runs"] else None
    return {
        "base_load": base_load,
        "writer_passes": passes,
        "analyses": analyses,
        "users": stamps["users"],
        "scored": stamps["scored"],
        "run_ids_on_users": stamps["runIds"],
        "last_run_id": last,
        "stamped_with_last": _count(store, "MATCH (u:User {influenceRunId: $id}) RETURN count(u)", id=last),
        "graph": compare(fingerprint(store), clean),
    }


def _runs(store: GraphStore) -> list[dict[str, Any]]:
    records, _, _ = store.driver.execute_query(
        "MATCH (r:AnalyticsRun {kind: 'influence'}) RETURN r.runId AS id, r.status AS status ORDER BY id"
    )
    return [dict(r) for r in records]


def _count(store: GraphStore, query: str, **params: Any) -> int:
    records, _, _ = store.driver.execute_query(query, params)
    return int(records[0][0])


# --- report --------------------------------------------------------------------------------------


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per run: run, ops, acknowledged, found, doubled, errors by code, recovery s, verdict."""
    out = []
    runs = result["runs"]
    if "a" in runs:
        a = runs["a"]
        ev = a["events"]
        ok = (
            ev["missing"] == 0
            and ev["doubled"] == 0
            and ev["edges_count_mismatch"] == 0
            and set(a["errors_by_code"]) <= {"UNAVAILABLE"}
            and "503" in a["readyz_by_phase"]["stopped"]
            and a["app_answering_after"]
            and a["sent_after_recovery"]["failed"] == 0
            and a["recovery_s"] is not None
        )
        out.append(
            {
                "run": f"(a) Neo4j stopped {a['stopped_s']} s (unreachable {a['unreachable_s']} s) under "
                f"recordEvent load, {result['clients']} clients",
                "ops": a["requests"],
                "acknowledged": ev["acknowledged"],
                "found": ev["found"],
                "doubled": ev["doubled"] + ev["edges_count_mismatch"],
                "errors": a["errors_by_code"],
                "recovery_s": a["recovery_s"],
                "ok": ok,
            }
        )
    for key, title in (
        ("b", "(b) two loaders on overlapping files at once"),
        ("c", "(c) loader SIGKILLed, re-run"),
    ):
        if key not in runs:
            continue
        r, g = runs[key], runs[key]["graph"]
        procs = [s[w] for s in r["steps"] for w in ("whole", "part")] if key == "b" else [r["rerun"]]
        exits = Counter(f"exit {p['exit']}" for p in procs)
        if key == "c":
            exits["SIGKILL"] += 1
        out.append(
            {
                "run": title,
                "ops": sum(p.get("read", 0) for p in procs),
                "acknowledged": sum(p.get("loaded", 0) for p in procs),
                "found": f"{g['nodes']:,} nodes, {g['edges']:,} edges (clean {g['clean_nodes']:,}, {g['clean_edges']:,})",
                "doubled": g["excess"],
                "errors": dict(exits),
                "recovery_s": r["rerun"]["seconds"] if key == "c" else None,
                "ok": g["content_equal"] and all(p["exit"] in (0, 3) for p in procs),
            }
        )
    if "d" in runs:
        d, g = runs["d"], runs["d"]["graph"]
        procs = [*d["writer_passes"], *d["analyses"]]
        exits = Counter(f"exit {p['exit']}" for p in procs)
        done = all(a["exit"] == 0 and a["runs"] and a["runs"][0]["status"] == "done" for a in d["analyses"])
        out.append(
            {
                "run": f"(d) {len(d['analyses'])} x analyze influence during writes",
                "ops": sum(p.get("read", 0) for p in d["writer_passes"]) + len(d["analyses"]),
                "acknowledged": f"{sum(1 for a in d['analyses'] if a['exit'] == 0)} runs done",
                "found": f"{d['stamped_with_last']:,} of {d['users']:,} users carry the last run id",
                "doubled": g["excess"],
                "errors": dict(exits),
                "recovery_s": max((a["seconds"] for a in d["analyses"]), default=None),
                "ok": done
                and d["stamped_with_last"] == d["users"] == d["scored"]
                and d["run_ids_on_users"] == [d["last_run_id"]]
                and g["content_equal"],
            }
        )
    return out


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    lines = [
        f"# Fault runs ({result['users']:,} users, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']} (local launcher, stopped and started "
        f"by the bench); Node {result['versions']['node']}; personagraph on uvicorn, 1 worker, rate limit "
        f"{result['rate_limit_per_minute'] or 'off'}, every request with an admin API key (credentials "
        f"required as in production); code under test (api/, graph/, cypher/) digest "
        f"{result['code_digest']}. The 1-minute "
        f"load average went from {result['loadavg_1min']['min']} to {result['loadavg_1min']['max']} (mean "
        f"{result['loadavg_1min']['mean']}): other work shares the 2 cores. Reference: one clean "
        f"`persona load` of the dataset ({result['clean_load']['seconds']} s, {result['clean']['nodes']:,} "
        f"nodes, {result['clean']['edges']:,} edges); graphs are compared by a fingerprint (counts and a "
        "content digest per node label set and edge type; clock-set and influence properties left out). "
        f"Loader batch size {result['batch_size']}.",
        "",
        "| run | ops | acknowledged | found | doubled | errors by code | recovery s | as expected |",
        "|---|---:|---:|---|---:|---|---:|---|",
    ]
    for r in result["rows"]:
        errors = ", ".join(f"{c}: {n}" for c, n in r["errors"].items()) or "none"
        ops = f"{r['ops']:,}" if isinstance(r["ops"], int) else r["ops"]
        ack = f"{r['acknowledged']:,}" if isinstance(r["acknowledged"], int) else r["acknowledged"]
        found = f"{r['found']:,}" if isinstance(r["found"], int) else r["found"]
        rec = "-" if r["recovery_s"] is None else f"{r['recovery_s']}"
        lines.append(
            f"| {r['run']} | {ops} | {ack} | {found} | {r['doubled']} | {errors} | {rec} | "
            f"{'yes' if r['ok'] else '**NO**'} |"
        )
    lines += [
        "",
        "ops: requests (a), rows read by the loaders (b, c: the re-run only; d: writer rows + analyses). "
        "acknowledged: success answers (a), rows the loaders reported loaded (b, c). "
        "doubled: events stored twice or edges whose count differs from their keys (a), nodes/edges/event "
        "keys beyond the clean load (b-d). recovery: Neo4j ready again -> first acknowledged event (a), "
        "the re-run's seconds (c), the slowest analysis (d).",
        "",
    ]
    if "a" in runs:
        a = runs["a"]
        ev, sa = a["events"], a["sent_after_recovery"]
        lines += [
            "## (a) Neo4j restart under recordEvent load",
            "",
            f"{probe_text(a['probes'])} Then {result['clients']} clients sent recordEvents (each the next when "
            f"the last was answered); {result['before_s']} s in, Neo4j was sent SIGTERM: stopping took "
            f"{a['stopping_s']} s, it stayed stopped {a['stopped_s']} s, and starting took {a['starting_s']} s "
            f"until it answered a ping from the bench again ({a['unreachable_s']} s from the stop; the launcher "
            f"reported READY {a['launcher_ready_after_answering_s']} s after that); the load went on "
            f"{result['after_s']} s after /readyz was 200 again. Clients saw failed answers over "
            f"{a['client_outage_s']} s (first to last). Once Neo4j answered again, /readyz was 200 within "
            f"{max(0.0, a['readyz_recovery_s'])} s and the first acknowledged event came {a['recovery_s']} s later; of the "
            f"{sa['requests']} requests sent after that, {sa['failed']} failed (slowest "
            f"{_ms(sa['max_ms'])} ms). The app process was never restarted (answering /healthz afterwards: "
            f"{'yes' if a['app_answering_after'] else '**no**'}).",
            "",
            "| phase (by when sent) | recordEvent answers | /readyz answers | ping from the bench |",
            "|---|---|---|---|",
            *[
                f"| {p} | {_codes(a['responses_by_phase'][p])} | {_codes(a['readyz_by_phase'][p])} | "
                f"{_codes(a['bolt_by_phase'][p])} |"
                for p in PHASES
            ],
            "",
            "Phases: before the stop; stopping (SIGTERM sent, process still there); stopped; starting "
            "(launched, no answer yet); after (Neo4j answering again). The ping column: 200 = answered, "
            "503 = did not (a driver of its own, 5 s connection timeout, no retries).",
            "",
            f"Events: {ev['sent']:,} sent, {ev['acknowledged']:,} acknowledged ({ev['acknowledged_not_new']} with "
            f"new=false), {ev['found']:,} of them found, {ev['missing']} missing, {ev['doubled']} stored twice, "
            f"{ev['edges_count_mismatch']} edges whose count differs from their keys; "
            f"{ev['unacknowledged_but_stored']} events whose request failed were stored anyway. Slowest answers "
            f"(ms): {', '.join(f'{x:,.0f}' for x in a['slowest_ms'])}; failed answers took "
            f"{_ms(a['failed_answer_ms']['p50'])} ms at the median, {_ms(a['failed_answer_ms']['max'])} ms at most.",
            "",
        ]
    for key, title in (
        ("b", "(b) two loaders at once"),
        ("c", "(c) loader killed, re-run"),
        ("d", "(d) analytics during writes"),
    ):
        if key not in runs:
            continue
        r, g = runs[key], runs[key]["graph"]
        lines += [f"## {title}", ""]
        if key == "b":
            lines += [
                "| file | whole: rows, s, exit | first 2/3: rows, s, exit | both running s |",
                "|---|---|---|---:|",
                *[
                    f"| {s['kind']} | {s['whole'].get('read', '?'):,}, {s['whole']['seconds']}, {s['whole']['exit']} | "
                    f"{s['part'].get('read', '?'):,}, {s['part']['seconds']}, {s['part']['exit']} | {s['overlap_s']} |"
                    for s in r["steps"]
                ],
                "",
            ]
        if key == "c":
            lines += [
                f"Killed {r['killed_after_s']} s into the load with loader transactions open: "
                f"{', '.join(r['open_transactions_at_kill']) or 'none seen'}; the graph then had "
                f"{r['after_kill']['nodes']:,} nodes, {r['after_kill']['edges']:,} edges, "
                f"{r['after_kill']['event_keys']:,} event keys. Re-run: exit {r['rerun']['exit']}, "
                f"{r['rerun']['seconds']} s.",
                "",
            ]
        if key == "d":
            lines += [
                f"Base (all but events and ties) loaded in {r['base_load']['seconds']} s. Writer passes: "
                + "; ".join(f"{w['target']} {w['seconds']} s exit {w['exit']}" for w in r["writer_passes"])
                + ".",
                "",
                *[
                    f"- analysis {i + 1}: exit {a['exit']}, {a['seconds']} s, run {_run_ids(a['runs'])}; "
                    f"writer passes running meanwhile: {', '.join(a['overlapping_writer_passes']) or 'none'}"
                    for i, a in enumerate(r["analyses"])
                ],
                "",
                f"Users: {r['users']:,}; with a score: {r['scored']:,}; run ids on users: {r['run_ids_on_users']}.",
                "",
            ]
        lines += [
            f"Graph vs the clean load: counts equal: {'yes' if g['counts_equal'] else '**NO**'}; content "
            f"equal: {'yes' if g['content_equal'] else '**NO**'}; event keys {g['event_keys']:,} "
            f"(clean {g['clean_event_keys']:,})."
            + (f" Differing: {json.dumps(g['differing_groups'])}" if g["differing_groups"] else ""),
            "",
        ]
    return "\n".join(lines)


def _run_ids(runs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{r['id']} ({r['status']})" for r in runs) or "none recorded"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _codes(counts: dict[str, int]) -> str:
    return ", ".join(f"{c}: {n:,}" for c, n in sorted(counts.items(), key=lambda x: -x[1])) or "-"


# --- main ----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5_000, help="generated dataset size")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=500, help="loader rows per transaction")
    parser.add_argument("--clients", type=int, default=8, help="(a) concurrent recordEvent clients")
    parser.add_argument("--before", type=float, default=15.0, help="(a) seconds of load before the stop")
    parser.add_argument("--down", type=float, default=15.0, help="(a) seconds Neo4j stays stopped")
    parser.add_argument("--after", type=float, default=30.0, help="(a) seconds of load after /readyz is 200")
    parser.add_argument("--analyses", type=int, default=2, help="(d) influence runs during writes")
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated runs to do")
    parser.add_argument(
        "--rate-limit", type=int, default=0, help="(a) the server's PERSONA_API_RATE_LIMIT; 0 (default): off"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    only = set(args.only.split(","))
    npm_install()
    no_rate_limit(args.rate_limit)
    data = dataset(args.users, args.seed)
    runs: dict[str, Any] = {}
    started = time.time()

    with (
        tempfile.TemporaryDirectory(prefix="persona-faults-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
        LoadSampler(every_s=10) as sampler,
    ):
        workdir = Path(tmp)
        # The LocalNeo4j behind fresh_neo4j, built the same way, so run (a) can stop and start it.
        local = local_neo4j(Settings(), data_dir=workdir / "neo4j", port=int(info.uri.rsplit(":", 1)[1]))
        driver = open_driver(info, wait_s=60)
        store = GraphStore(driver, info.database)
        log.info("clean load of %s", data)
        clean_load = finish(start_loader(info, data, workdir, "clean", args.batch_size))
        if clean_load["exit"] not in (0, 3):
            raise RuntimeError(f"the clean load failed: {clean_load}")
        clean = fingerprint(store)
        log.info("clean: %d nodes, %d edges", clean.nodes, clean.edges)
        if "a" in only:
            log.info("(a) Neo4j restart under recordEvent load")
            runs["a"] = run_restart(info, local, store, args, workdir)
        if "b" in only:
            runs["b"] = run_two_loaders(info, store, data, clean, args, workdir)
        if "c" in only:
            log.info("(c) loader killed mid-batch")
            runs["c"] = run_kill(info, store, data, clean, args, workdir)
        if "d" in only:
            runs["d"] = run_analytics(info, store, data, clean, args, workdir)
        driver.close()
        loaded = clean.counts.get("(User)", 0)

    result: dict[str, Any] = {
        "users": loaded,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "clients": args.clients,
        "before_s": args.before,
        "down_s": args.down,
        "after_s": args.after,
        "rate_limit_per_minute": args.rate_limit,
        "code_digest": code_digest(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 1),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "versions": versions(),
        "loadavg_1min": sampler.summary(),
        "clean_load": clean_load,
        "clean": {
            "nodes": clean.nodes,
            "edges": clean.edges,
            "counts": clean.counts,
            "event_keys": clean.event_keys,
        },
        "runs": runs,
    }
    result["rows"] = rows(result)
    write_results("faults", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

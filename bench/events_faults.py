"""The event pipeline under faults (issue 18): tracking events arrive at a steady rate through
POST /v1/batch while, one after the other, the API is killed (SIGKILL of uvicorn and its workers), the
folding worker is killed (SIGKILL of `persona events fold`), Neo4j is stopped for --neo4j-down seconds and
the webhook receiver is down for --receiver-down seconds. Afterwards nothing acknowledged may be missing or
doubled, and every change the folds wrote must have reached the webhook at least once.

Set-up: one fresh local Neo4j with a generated dataset (20k users by default), the saved audiences of
bench/fold.py, personagraph under uvicorn (--workers) with folding moved out of the API
(PERSONA_EVENTS_FOLD_IN_API=false) into `persona events fold` (so each can be killed alone); the API
dispatches webhooks, retrying a failed delivery after PERSONA_WEBHOOKS_RETRY_S (--retry-s: 1 s doubling
to 128 s here instead of the default 5 s to 1 h, so a one-minute outage costs about a minute). One webhook
wants every change type; its receiver (tests/test_webhooks.py Receiver, on 127.0.0.1) verifies each
signature with the standardwebhooks package.

Senders: --clients threads, each posting batches of --batch new Product Viewed / Clicked / Liked events
(new messageIds, times drawn from the 24 hours before, as bench/events.py sends them), paced to --rate
events/s together; the first sender's batches also identify a new user
and place their first order (tag, audience and profile changes for the webhook). A batch that is not acknowledged (refused, timed out,
an error status) is sent again with the same messageIds until it is: what a tracking SDK does, and what the
collector's dedupe by messageId is for.

Checks, after the senders stop and the fold and the webhook have caught up (or --drain-timeout passed):
- every acknowledged messageId stored exactly once (bench/events.py verify), and every acknowledged order;
- every change the change log holds from the run (its cursors) delivered to the webhook at least once with
  a valid signature; re-sends counted; the first deliveries of each user in cursor order;
- recovery per fault: seconds from the fault's end (restart, start, receiver up) until the next
  acknowledged batch / folded entry / delivery.

Results: bench/results/events-faults.json and .md. Not part of the test suite.

    .venv/bin/python bench/events_faults.py              # 20k users, about 6 minutes
    .venv/bin/python bench/events_faults.py --users 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import persona_neo4j_env  # noqa: E402
from bench.audiences import KINDS, load  # noqa: E402
from bench.common import api_credentials, machine, write_results  # noqa: E402
from bench.events import DAY_S, TRACK_EVENTS, population, verify  # noqa: E402
from bench.fold import AUDIENCES  # noqa: E402
from bench.graphs import dataset, fresh_neo4j  # noqa: E402
from personagraph.graph.audiences.service import save_audience  # noqa: E402
from personagraph.graph.changes.log import changes_after, latest_cursor  # noqa: E402
from personagraph.graph.events.fold import fold_cursor  # noqa: E402
from personagraph.graph.events.journal import SqliteJournal  # noqa: E402
from personagraph.graph.server.choose import local_neo4j  # noqa: E402
from personagraph.graph.server.connection import open_driver  # noqa: E402
from personagraph.graph.server.local import free_port  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402
from personagraph.graph.webhooks.model import EVENT_TYPES  # noqa: E402
from personagraph.graph.webhooks.registry import register_webhook  # noqa: E402
from tests.test_webhooks import Receiver  # noqa: E402

log = logging.getLogger("bench.events_faults")
HOOK_PATH = "/hook"


class Proc:
    """A process group the bench starts, kills with SIGKILL (all of it: uvicorn's workers too) and restarts."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name, self.cmd, self.env, self.workdir = name, cmd, env, workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with (self.workdir / f"{self.name}-{self.starts}.log").open("wb") as out:
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class Senders:
    """--clients threads posting batches of new events, paced; a batch is re-sent until acknowledged."""

    def __init__(
        self, args: argparse.Namespace, url: str, authorization: str, users: list[str], skus: list[str]
    ):
        self.args, self.url, self.authorization, self.users, self.skus = args, url, authorization, users, skus
        self.prefix = f"evf-{int(time.time())}-"
        self.acked: list[str] = []  # behaviour events' messageIds
        self.orders: list[str] = []  # order ids of the new users' first orders
        self.acked_at: list[float] = []  # when each batch was acknowledged
        self.sent = 0
        self.failures: Counter[str] = Counter()
        self.resent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(k,), daemon=True) for k in range(args.clients)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _client(self, k: int) -> None:
        rng = random.Random(self.args.seed + k)
        every = self.args.batch * self.args.clients / self.args.rate
        due = time.monotonic()
        n = 0
        while not self._stop.is_set():
            moment = dt.datetime.now(dt.UTC)
            now = moment.isoformat()
            batch = [
                {
                    "type": "track",
                    "messageId": f"{self.prefix}{k}-{n}-{j}",
                    "userId": rng.choice(self.users),
                    "event": rng.choice(list(TRACK_EVENTS)),
                    # from the day before, as bench/events.py: at night, all stamped now made night owls
                    "timestamp": (moment - dt.timedelta(seconds=rng.uniform(0, DAY_S))).isoformat(),
                    "properties": {"product_id": rng.choice(self.skus)},
                }
                for j in range(self.args.batch)
            ]
            order_id = None
            if k == 0:  # a new customer: identified, then their first order
                user, order_id = f"{self.prefix}new-{n}", f"{self.prefix}order-{n}"
                batch += [
                    {
                        "type": "identify",
                        "messageId": f"{user}-id",
                        "userId": user,
                        "traits": {"city": "Faults"},
                    },
                    {
                        "type": "track",
                        "messageId": order_id,
                        "userId": user,
                        "event": "Order Completed",
                        "timestamp": now,
                        "properties": {"order_id": order_id, "products": [{"sku": rng.choice(self.skus)}]},
                    },
                ]
            n += 1
            self._deliver(batch, order_id)
            due += every
            self._stop.wait(max(0.0, due - time.monotonic()))

    def _deliver(self, batch: list[dict[str, Any]], order_id: str | None) -> None:
        body = json.dumps({"batch": batch}).encode()
        headers = {"content-type": "application/json", "authorization": self.authorization}
        attempts = 0
        while True:  # until acknowledged, even after stop: an SDK keeps what it has not sent
            attempts += 1
            try:
                request = urllib.request.Request(self.url, body, headers)
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.load(response)
                if answer.get("rejected") or answer["accepted"] + answer["duplicates"] < len(batch):
                    raise ValueError(f"not all accepted: {answer}")
                break
            except urllib.error.HTTPError as error:
                self._failed(f"HTTP {error.code}")
            except (OSError, ValueError) as error:
                self._failed(type(error).__name__)
            time.sleep(0.5)
        with self._lock:
            self.sent += len(batch)
            self.resent += attempts - 1
            self.acked += [e["messageId"] for e in batch if e.get("event") in TRACK_EVENTS]
            self.orders += [order_id] if order_id else []
            self.acked_at.append(time.time())

    def _failed(self, kind: str) -> None:
        with self._lock:
            self.failures[kind] += 1

    def first_ack_after(self, t: float) -> float | None:
        with self._lock:
            return min((a for a in self.acked_at if a >= t), default=None)


class Progress:
    """Polls the fold cursor and the deliveries every 0.5 s: when each moved (for recovery times)."""

    def __init__(self, store: GraphStore, log_id: str, receiver: Receiver) -> None:
        self.store, self.log_id, self.receiver = store, log_id, receiver
        self.folds: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = -1
        while not self._stop.wait(0.5):
            try:
                cursor = fold_cursor(self.store, self.log_id)
            except Exception:  # Neo4j stopped: nothing to see
                continue
            if cursor != last:
                self.folds.append((time.time(), cursor))
                last = cursor

    def start(self) -> Progress:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def first_fold_after(self, t: float) -> float | None:
        return min((at for at, _ in self.folds[1:] if at >= t), default=None)

    def first_delivery_after(self, t: float) -> float | None:
        return min((r.at for r in self.receiver.accepted(HOOK_PATH) if r.at >= t), default=None)


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s:.0f} s")


def deliveries(receiver: Receiver, first: int, last: int) -> dict[str, Any]:
    """The run's changes (cursors first..last) against what the receiver accepted."""
    accepted = receiver.accepted(HOOK_PATH)
    bad = sum(r.error is not None for r in receiver.requests(HOOK_PATH))
    cursors = [r.payload["data"]["cursor"] for r in accepted if r.payload is not None]
    wanted = set(range(first + 1, last + 1))
    seen = set(cursors)
    firsts: dict[str, list[int]] = defaultdict(list)
    first_seen: set[int] = set()
    for r in accepted:
        if r.payload is None:
            continue
        data = r.payload["data"]
        if data["cursor"] not in first_seen:
            first_seen.add(data["cursor"])
            firsts[data["userId"]].append(data["cursor"])
    return {
        "changes": len(wanted),
        "delivered": len(wanted & seen),
        "missing": len(wanted - seen),
        "resent": len(cursors) - len(seen),
        "bad_signatures": bad,
        "users_out_of_order": sum(1 for c in firsts.values() if c != sorted(c)),
    }


def run(args: argparse.Namespace, info: Any, local: Any, data: Path, workdir: Path) -> dict[str, Any]:
    driver = open_driver(info, wait_s=60)
    store = GraphStore(driver, info.database)
    load_seconds = load(store, data, KINDS, workdir / "rejects")
    for i, definition in enumerate(AUDIENCES):
        save_audience(
            store, audience_id=f"bench-{i}", name=f"bench {i}", definition=definition, owner="bench"
        )
    users, skus = population(store, args.event_users, args.seed)

    credentials, authorization = api_credentials(workdir)
    env = {
        **os.environ,
        **credentials,
        **persona_neo4j_env(info),
        "PERSONA_API_RATE_LIMIT": "0",
        "PERSONA_EVENTS_FOLD_IN_API": "false",
        "PERSONA_WEBHOOKS_ALLOW_PRIVATE": "true",
        "PERSONA_WEBHOOKS_RETRY_S": args.retry_s,
    }
    receiver = Receiver()
    receiver.start()
    settings = Settings(secret_key=credentials["PERSONA_SECRET_KEY"], webhooks_allow_private=True)
    hook = register_webhook(
        store, settings, url=receiver.url(HOOK_PATH), events=list(EVENT_TYPES), created_by="bench"
    )
    receiver.secrets[HOOK_PATH] = hook.secret
    first_change = latest_cursor(store)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [
        sys.executable, "-m", "uvicorn", "--factory", "personagraph.api.app:create_app", "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(args.workers), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    api = Proc("api", serve, env, workdir)
    folder = Proc("fold", [str(Path(sys.executable).parent / "persona"), "events", "fold"], env, workdir)
    journal = SqliteJournal(Path(credentials["PERSONA_EVENT_LOG_PATH"]))
    api.start()
    folder.start()
    _wait_http(f"{base}/healthz", 120)
    senders = Senders(args, f"{base}/v1/batch", authorization, users, skus)
    progress = Progress(store, journal.log_id, receiver).start()
    marks: dict[str, float] = {"start": time.time()}
    senders.start()
    # Each fault: what the log says, the marks of its start and end, how it starts, how long, how it ends.
    faults = [
        ("kill -9 of the API", "api_killed", "api_restarted", api.kill, args.pause, api.start),
        ("kill -9 of the folding worker", "worker_killed", "worker_restarted", folder.kill, args.pause, folder.start),
        (f"Neo4j stopped for {args.neo4j_down:.0f} s", "neo4j_stopped", "neo4j_started", local.stop,
         args.neo4j_down, local.start),
        (f"webhook receiver down for {args.receiver_down:.0f} s", "receiver_down", "receiver_up", receiver.stop,
         args.receiver_down, receiver.start),
    ]  # fmt: skip
    try:
        time.sleep(args.before)
        for n, (what, down, up, begin, lasting, end) in enumerate(faults):
            if n:
                time.sleep(args.between)
            log.info(what)
            marks[down] = time.time()
            begin()
            time.sleep(lasting)
            end()
            marks[up] = time.time()
        time.sleep(args.after)
    finally:
        senders.stop()
        marks["senders_stopped"] = time.time()
    log.info("draining: the fold to the log's end, the webhook to the change log's end")
    drained = None
    deadline = time.time() + args.drain_timeout
    while time.time() < deadline:
        try:
            folded = fold_cursor(store, journal.log_id) >= journal.last_offset()
            last_change = latest_cursor(store)
        except Exception:
            time.sleep(1)
            continue
        delivered = {r.payload["data"]["cursor"] for r in receiver.accepted(HOOK_PATH) if r.payload}
        if folded and set(range(first_change + 1, last_change + 1)) <= delivered:
            drained = time.time()
            break
        time.sleep(1)
    progress.stop()
    last_change = latest_cursor(store)
    checks = verify(store, senders.acked, senders.prefix)
    orders_found = store.driver.execute_query(
        "MATCH (o:Order) WHERE o.orderId IN $ids RETURN count(o) AS n", ids=senders.orders
    )[0][0]["n"]
    checks["orders"] = {"acknowledged": len(senders.orders), "found": orders_found}
    pushed = deliveries(receiver, first_change, last_change)
    kinds = Counter(c.kind for c in changes_after(store, first_change, limit=1_000_000))
    api.stop()
    folder.stop()
    receiver.stop()
    journal.close()
    driver.close()

    def since(mark: str, seen: float | None) -> float | None:
        return None if seen is None else round(seen - marks[mark], 2)

    recovery = {
        "API killed: next batch acknowledged after the restart": since(
            "api_restarted", senders.first_ack_after(marks["api_restarted"])
        ),
        "worker killed: next fold after the restart": since(
            "worker_restarted", progress.first_fold_after(marks["worker_restarted"])
        ),
        "Neo4j stopped: next fold after its start": since(
            "neo4j_started", progress.first_fold_after(marks["neo4j_started"])
        ),
        "receiver down: next delivery after it is up": since(
            "receiver_up", progress.first_delivery_after(marks["receiver_up"])
        ),
    }
    seconds = marks["senders_stopped"] - marks["start"]
    return {
        "users": args.users,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "workers": args.workers,
        "rate": args.rate,
        "batch": args.batch,
        "clients": args.clients,
        "retry_s": args.retry_s,
        "load_seconds": load_seconds,
        "marks": {k: round(v - marks["start"], 1) for k, v in marks.items()},
        "sent_seconds": round(seconds, 1),
        "acknowledged_events_s": round(len(senders.acked) / seconds, 1),
        "failed_attempts": dict(senders.failures),
        "resent_batches": senders.resent,
        "drained_after_s": None if drained is None else round(drained - marks["senders_stopped"], 1),
        "events": checks,
        "deliveries": pushed,
        "change_kinds": dict(kinds),
        "recovery_s": recovery,
    }


def markdown(r: dict[str, Any]) -> str:
    e, d = r["events"], r["deliveries"]
    marks = ", ".join(f"{k.replace('_', ' ')} {v:.0f}" for k, v in r["marks"].items() if k != "start")
    ok = (
        e["missing"] == 0 and e["doubled"] == 0 and e["edges_count_mismatch"] == 0 and d["missing"] == 0
        and e["orders"]["found"] == e["orders"]["acknowledged"]
        and d["bad_signatures"] == 0 and d["users_out_of_order"] == 0 and r["drained_after_s"] is not None
    )  # fmt: skip
    lines = [
        f"# Event pipeline under faults ({r['users']:,} users, {r['date']})",
        "",
        f"Machine: {r['machine']}; Neo4j {r['neo4j_version']}. personagraph: uvicorn, {r['workers']} worker(s), "
        f"folding in `persona events fold`, webhooks dispatched by the API (retries after {r['retry_s']} s). "
        f"{r['clients']} senders, batches of {r['batch']}, paced to {r['rate']:,.0f} events/s, re-sending a "
        "batch until acknowledged. bench/events_faults.py says how.",
        "",
        f"Faults (seconds from the start): {marks}.",
        "",
        "| | count |",
        "|---|---:|",
        f"| events acknowledged | {e['acknowledged']:,} ({r['acknowledged_events_s']:,.0f}/s over "
        f"{r['sent_seconds']:.0f} s) |",
        f"| acknowledged events stored | {e['found']:,} |",
        f"| missing | {e['missing']:,} |",
        f"| stored twice | {e['doubled']:,} |",
        f"| edges whose count differs from their event keys | {e['edges_count_mismatch']:,} |",
        f"| orders acknowledged / stored | {e['orders']['acknowledged']:,} / {e['orders']['found']:,} |",
        f"| failed send attempts (re-sent) | {sum(r['failed_attempts'].values()):,} "
        f"({', '.join(f'{k} {v}' for k, v in r['failed_attempts'].items()) or 'none'}) |",
        f"| changes written by the folds | {d['changes']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in r['change_kinds'].items())}) |",
        f"| changes delivered to the webhook | {d['delivered']:,} |",
        f"| changes never delivered | {d['missing']:,} |",
        f"| deliveries sent again (at least once) | {d['resent']:,} |",
        f"| bad signatures | {d['bad_signatures']:,} |",
        f"| users whose first deliveries came out of cursor order | {d['users_out_of_order']:,} |",
        f"| drained (fold and webhook caught up) after the senders stopped, s | "
        f"{r['drained_after_s'] if r['drained_after_s'] is not None else 'not within the timeout'} |",
        "",
        "Recovery, seconds from the fault's end:",
        "",
        "| fault | seconds |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {'-' if v is None else f'{v:.1f}'} |" for k, v in r["recovery_s"].items()]
    lines += ["", f"Every acknowledged event stored exactly once and every change delivered at least once: "
              f"{'yes' if ok else 'NO'}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--event-users", type=int, default=5_000, help="users the events pick from")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1000.0, help="events/s offered, all senders together")
    parser.add_argument("--before", type=float, default=15.0, help="seconds before the first fault")
    parser.add_argument("--between", type=float, default=15.0, help="seconds between faults")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds a killed process stays dead")
    parser.add_argument("--neo4j-down", type=float, default=15.0)
    parser.add_argument("--receiver-down", type=float, default=60.0)
    parser.add_argument("--after", type=float, default=20.0, help="seconds of sending after the last fault")
    parser.add_argument("--retry-s", default="1,2,4,8,16,32,64,128", help="PERSONA_WEBHOOKS_RETRY_S")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    data = dataset(args.users, args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="persona-evf-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
    ):
        workdir = Path(tmp)
        # The LocalNeo4j behind fresh_neo4j, built the same way, so the run can stop and start it.
        local = local_neo4j(Settings(), data_dir=workdir / "neo4j", port=int(info.uri.rsplit(":", 1)[1]))
        result = run(args, info, local, data, workdir)
    write_results("events-faults", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

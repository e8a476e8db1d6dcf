"""Issue 17: `persona serve --workers N` keeps one rate limit and one count budget per key, whatever N.

The buckets live in the SQLite state file every worker shares (api/shared_state.py). Real processes
throughout: worker processes of the multiprocessing module spending one file's buckets at once, and
`persona serve --workers 2` over the test Neo4j answering one key's requests from both workers.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess

from personagraph.api.counts import CountBudget
from personagraph.api.rate_limiter import MemoryBuckets, RateLimiter
from personagraph.api.shared_state import SqliteBuckets
from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.server.local import free_port
from personagraph.graph.settings import Settings, default_workers
from personagraph.graph.store import GraphStore
from tests.api_support import TEST_SECRET, secured
from tests.state_processes import acquire_many, in_processes, spend_counts
from tests.test_day_one_api import metric_values, persona_serve
from tests.test_subscriptions import PROFILE, sse_event

PROCESSES = 4
CAPACITY = 400  # tokens of the one bucket
TRIES = 200  # acquires per process: fewer than CAPACITY, so at least three processes compete for it


def test_processes_sharing_the_state_file_never_take_more_than_the_bucket_holds(tmp_path: Path) -> None:
    path = tmp_path / "api-state.sqlite3"
    granted = in_processes(acquire_many, [(str(path), CAPACITY, TRIES)] * PROCESSES)
    assert sum(granted) == CAPACITY, granted  # PROCESSES x TRIES tries, one bucket: CAPACITY granted in all


def test_processes_share_the_count_budget_its_answered_questions_and_its_reports(tmp_path: Path) -> None:
    path = tmp_path / "api-state.sqlite3"
    budget = 15
    results = in_processes(spend_counts, [(str(path), me, budget) for me in range(PROCESSES)])
    answered = [set(a) for a, _ in results]
    distinct = set().union(*answered)
    assert len(distinct) == budget, sorted(distinct)  # 10 shared + 40 own questions: 15 answered in all
    shared = {q for q in distinct if q.startswith("shared-")}
    for mine in answered:  # a question one process was answered is free for every other one
        assert shared <= mine, (sorted(shared), sorted(mine))
    assert sum(r for _, r in results) == 1, results  # one refusal reported across processes (a minute)


def test_full_buckets_spent_reports_and_old_answers_are_swept(tmp_path: Path) -> None:
    now = [1_000_000.0]
    buckets = SqliteBuckets(tmp_path / "state.sqlite3", remembered=3)
    limiter = RateLimiter(2, clock=lambda: now[0], buckets=buckets)  # 2 a minute
    budget = CountBudget(10, clock=lambda: now[0], buckets=buckets)
    assert limiter.acquire("a") == limiter.acquire("a") == 0.0 and limiter.acquire("a") == 30.0
    assert [budget.spend("k", ("q", str(i))) for i in range(5)] == [0.0] * 5
    assert budget.first_refusal("k")
    assert buckets.rows() == {"bucket": 2, "answered": 5, "reported": 1}
    now[0] += 30
    limiter.acquire("b")
    assert buckets.rows() == {"bucket": 3, "answered": 5, "reported": 1}  # swept once a minute
    now[0] += 61  # "a" and "b" full (the same as no bucket), the report spent
    limiter.acquire("c")  # the first write of the minute sweeps
    assert buckets.rows() == {"bucket": 2, "answered": 3, "reported": 0}  # "k"'s day, "c"; 3 newest answers
    assert limiter.acquire("a") == limiter.acquire("a") == 0.0 and limiter.acquire("a") > 0
    assert budget.spend("k", ("q", "4")) == 0.0  # remembered: free
    assert budget.spend("k", ("q", "0")) == 0.0  # forgotten: charged again (10 a day, some left)
    assert buckets.rows()["answered"] == 4


def test_a_restart_keeps_the_budgets(tmp_path: Path) -> None:
    """The state is in the file: a new process (here a new store on it) finds the key's budget spent."""
    path = tmp_path / "state.sqlite3"
    first = CountBudget(2, buckets=SqliteBuckets(path))
    assert first.spend("k", ("a",)) == first.spend("k", ("b",)) == 0.0
    again = CountBudget(2, buckets=SqliteBuckets(path))
    assert again.spend("k", ("c",)) > 40_000  # about 12 hours until the next count
    assert again.spend("k", ("a",)) == 0.0


def test_memory_and_sqlite_buckets_agree(tmp_path: Path) -> None:
    """The two stores follow the same arithmetic (api/rate_limiter.py ``refill``), step for step."""
    now = [5_000.0]
    limiters = [
        RateLimiter(3, clock=lambda: now[0], buckets=store)
        for store in (MemoryBuckets(), SqliteBuckets(tmp_path / "state.sqlite3"))
    ]
    for step in [0, 0, 0, 0, 5, 0, 15, 0, 0, 61, 0, 0, 0, 0]:
        now[0] += step
        waits = [(limiter.wait("k"), limiter.acquire("k")) for limiter in limiters]
        assert waits[0] == pytest.approx(waits[1]), (now[0], waits)


def test_the_default_worker_count_is_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERSONA_API_WORKERS", raising=False)
    assert Settings().api_workers == default_workers() == min(os.cpu_count() or 1, 64)
    monkeypatch.setenv("PERSONA_API_WORKERS", "3")
    assert Settings().api_workers == 3


# persona serve --workers 2 ----------------------------------------------------------------------------

RATE = 20  # requests a minute per key: one more every 3 s
BUDGET = 4  # different counts a day per key
COUNT = (
    "query($d: AudienceInput!) { audience(definition: $d, purpose: ANALYSIS) { count { value fewerThan } } }"
)


def requests_per_worker(folder: Path) -> dict[str, float]:
    """POSTs each worker process counted (its own Prometheus files, read one worker at a time)."""
    seen: dict[str, float] = {}
    for file in folder.glob("counter_*.db"):
        pid = file.stem.split("_", 1)[1]
        alone = folder.parent / f"worker-{pid}"
        alone.mkdir(exist_ok=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        values = metric_values(generate_latest(registry).decode())
        seen[pid] = sum(
            v
            for (name, labels), v in values.items()
            if name == "persona_http_requests_total" and ("method", "POST") in labels
        )
    return seen


def test_two_workers_share_one_keys_rate_limit_and_count_budget(
    neo4j_connection: ConnectionInfo, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    keys = secured(tmp_path / "keys")
    prometheus = tmp_path / "prometheus"
    prometheus.mkdir()
    env = {
        **os.environ,
        **neo4j_env,
        "PERSONA_API_KEYS_FILE": str(keys.settings.api_keys_path),
        "PERSONA_AUDIT_LOG": str(keys.settings.audit_log_path),
        "PERSONA_DATA_DIR": str(tmp_path / "data"),
        "PERSONA_SECRET_KEY": "workers-test-secret",
        "PERSONA_API_RATE_LIMIT": str(RATE),
        "PERSONA_PRIVACY_COUNT_BUDGET": str(BUDGET),
        "PROMETHEUS_MULTIPROC_DIR": str(prometheus),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with persona_serve(env, port, tmp_path / "serve.log"):

        def post(body: dict[str, object], role: str) -> httpx.Response:
            # A new connection each time, several at once, so the kernel hands them to both workers.
            return httpx.post(f"{base}/graphql", json=body, headers=keys.headers(role), timeout=30)

        # The rate limit: one key, three times its rate at once.
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(
                pool.map(lambda _: post({"query": "{ __typename }"}, "service").status_code, range(3 * RATE))
            )
        elapsed = time.monotonic() - started
        assert set(codes) <= {200, 429}, codes
        refilled = int(elapsed * RATE / 60)  # tokens back while the requests ran
        assert RATE <= codes.count(200) <= RATE + refilled, (codes.count(200), elapsed)

        # The count budget: one key, ten different counts.
        def count(i: int) -> str:
            d = {"attribute": {"field": "gender", "op": "eq", "value": f"workers-{i}"}}
            body = post({"query": COUNT, "variables": {"d": d}}, "analyst").json()
            return "answered" if not body.get("errors") else body["errors"][0]["extensions"]["code"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(count, range(10)))
        assert sorted(outcomes) == ["RATE_LIMITED"] * (10 - BUDGET) + ["answered"] * BUDGET, outcomes
        assert count(outcomes.index("answered")) == "answered"  # a question answered before stays free

        # Both workers answered the key's requests (each worker's own request counts).
        sent = 3 * RATE + 11
        deadline = time.monotonic() + 20  # a request is counted just after its answer is sent
        while (
            sum((per_worker := requests_per_worker(prometheus)).values()) < sent
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        assert sum(per_worker.values()) == sent, per_worker
        assert len([pid for pid, n in per_worker.items() if n > 0]) == 2, per_worker
    spent = [e for e in keys.audit_entries() if e["action"] == "count-budget"]
    assert len(spent) == 1, spent  # the first refusal of the minute, whichever worker refused


def test_two_api_processes_share_the_limits_and_each_ones_subscribers_see_the_others_changes(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 22: two API processes behind a load balancer (two `persona serve` on two ports, one Neo4j, one
    data folder): one key's rate limit holds across both, and a subscriber on one gets a change made
    through the other, from its backlog and live. (Two ports rather than two uvicorn workers on one port,
    so that which process answers is certain; the workers of one server share state the same way, as the
    test above shows for the limits.)"""
    keys = secured(tmp_path / "keys")
    env = {
        **os.environ,
        **neo4j_env,
        "PERSONA_API_KEYS_FILE": str(keys.settings.api_keys_path),
        "PERSONA_AUDIT_LOG": str(keys.settings.audit_log_path),
        "PERSONA_DATA_DIR": str(tmp_path / "data"),  # the state file both share: data/api-state.sqlite3
        "PERSONA_SECRET_KEY": TEST_SECRET.get_secret_value(),  # `store`: an empty graph, no suppression list
        "PERSONA_API_RATE_LIMIT": str(RATE),
    }
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        for index, port in enumerate(ports):
            stack.enter_context(persona_serve(env, port, tmp_path / f"serve-{index}.log", workers=1))
        first, second = (f"http://127.0.0.1:{port}" for port in ports)
        user = "two-processes-1"
        upsert = "mutation($u: UserInput!) { upsertUser(input: $u) { id city } }"

        def post(base: str, body: dict[str, object], role: str = "service") -> httpx.Response:
            return httpx.post(f"{base}/graphql", json=body, headers=keys.headers(role), timeout=30)

        first_use = time.monotonic()  # the service key's bucket starts full (RATE tokens) and refills
        made = post(second, {"query": upsert, "variables": {"u": {"id": user, "city": "Wuhan"}}}).json()
        assert made.get("errors") is None, made
        body = {"query": PROFILE, "variables": {"u": user, "a": "0"}}
        with (
            httpx.Client(base_url=first, timeout=30) as http,
            http.stream("POST", "/graphql/stream", json=body, headers=keys.headers("admin")) as answer,
        ):
            assert answer.status_code == 200
            lines = answer.iter_lines()
            name, data = sse_event(lines)  # the backlog: the change made through the other process
            assert name == "next", data
            backlog = json.loads(data)["data"]["profileChanged"]
            assert (backlog["userId"], backlog["subject"]) == (user, "city"), backlog
            moved = post(second, {"query": upsert, "variables": {"u": {"id": user, "city": "Chengdu"}}})
            assert moved.json().get("errors") is None, moved.text
            name, data = sse_event(lines)  # live: fanned out by this process's poller of the change log
            assert name == "next", data
            live = json.loads(data)["data"]["profileChanged"]
            assert live["userId"] == user and int(live["cursor"]) > int(backlog["cursor"]), live

        # The rate limit: one key's requests spread over both processes, three times its rate at once.
        bases = (first, second)
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(
                pool.map(
                    lambda i: post(bases[i % 2], {"query": "{ __typename }"}).status_code, range(3 * RATE)
                )
            )
        elapsed = time.monotonic() - first_use
        assert set(codes) <= {200, 429}, codes
        # the key spent 2 of its RATE tokens above; alone, each process would have let about RATE through
        refilled = int(elapsed * RATE / 60) + 1  # tokens back since the key's first request
        assert RATE - 2 <= codes.count(200) <= RATE - 2 + refilled, (codes.count(200), elapsed)

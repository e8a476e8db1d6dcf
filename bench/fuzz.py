"""API fuzzing: 10,000 hypothesis-graphql operations against personagraph, every answer judged.

The generator and the judge are tests/test_fuzz_api.py's (``CASES``, ``Fuzzer``, ``judge``): queries
and mutations built from the live schema, one field per @oneOf input, names swapped with some
probability for ids that exist. One fresh local Neo4j (bench/graphs.py ``fresh_neo4j``) gets a
generated shop with every analysis and the rule tags (tests/api_support.py ``analysed_graph``, what
``make demo`` serves); the app runs in process (``create_app`` behind Starlette's TestClient, the
same HTTP handling as uvicorn, without the socket), as admin for 90 % of the operations and as
analyst for the rest. A failure is anything but HTTP 200 with JSON whose errors all carry a known
code: an INTERNAL_SERVER_ERROR, an uncoded error, a stack trace, a driver class name or Cypher text.

Results: bench/results/fuzz.json and fuzz.md (counts per outcome and code, the slowest operations,
every failure with its operation, answer and the server's logged trace). Not part of the test suite.

    .venv/bin/python bench/fuzz.py                 # 10,000 operations, 500 users
    .venv/bin/python bench/fuzz.py --count 500     # a smoke run

An operation without an answer after --timeout seconds (60) is a failure too ("the request hangs"); the
script then writes its results and exits without shutting the app down (the test client would wait for
that request for ever).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402 - after the path setup
from graphql import DocumentNode  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from bench.common import machine, write_results  # noqa: E402
from bench.graphs import fresh_neo4j  # noqa: E402
from personagraph.api.app import create_app  # noqa: E402
from personagraph.graph.server.connection import open_driver  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from tests.api_support import analysed_graph, secured  # noqa: E402
from tests.test_fuzz_api import CASES, SEED, Fuzzer, Outcome, pools_from  # noqa: E402

log = logging.getLogger("bench.fuzz")
escaped = logging.getLogger("bench.fuzz.app")
ANALYST_SHARE = 0.1
HANGS = "the request hangs"
SLOWEST = 15


class TraceCatcher(logging.Handler):
    """Keeps what the API logs with a trace (api/errors.py logs unexpected errors), per operation."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.caught: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.caught.append(text)

    def take(self) -> list[str]:
        caught, self.caught = self.caught, []
        return caught


class LogEscapes:
    """Logs an exception that escapes the app, as uvicorn does before it answers 500; the test client
    would only answer 500 (raise_server_exceptions=False) and the trace would be lost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except BaseException:
            escaped.exception("exception in ASGI application")
            raise


def answer(fuzzer: Fuzzer, query: str, timeout_s: float) -> Outcome:
    """The judged answer, or a failure when none comes within ``timeout_s`` (the request is left hanging
    in its daemon thread: a test client cannot cancel it)."""
    box: list[Outcome] = []

    def send() -> None:
        try:
            box.append(fuzzer.send(query))
        except Exception as exc:  # a crash of the client side is a finding, not a stop
            box.append(Outcome(query, 0, (), (f"client raised {exc!r}",), 0.0))

    worker = threading.Thread(target=send, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if box:
        return box[0]
    return Outcome(query, 0, (), (f"no answer within {timeout_s:.0f} s: {HANGS}",), timeout_s * 1000)


def drive(
    fuzzer: Fuzzer, count: int, seed: int, catcher: TraceCatcher, timeout_s: float
) -> list[dict[str, Any]]:
    """``count`` generated operations (fewer if Hypothesis runs out of distinct ones), each judged."""
    results: list[dict[str, Any]] = []
    started = time.perf_counter()

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=CASES)
    def run(case: tuple[DocumentNode, Any]) -> None:
        outcome = answer(fuzzer, fuzzer.render(case), timeout_s)
        results.append({"outcome": outcome, "logged": catcher.take()})
        if len(results) % 500 == 0:
            rate = len(results) / (time.perf_counter() - started)
            log.info("%d operations (%.1f/s)", len(results), rate)

    run()
    return results


def summarise(role: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes: list[Outcome] = [r["outcome"] for r in results]
    codes = Counter(code for o in outcomes for code in o.codes)
    failures = [
        {
            "role": role,
            "problems": list(r["outcome"].problems),
            "operation": r["outcome"].query,
            "status": r["outcome"].status,
            "answer": r["outcome"].body[:4000],
            "logged": r["logged"],
        }
        for r in results
        if r["outcome"].problems
    ]
    ms = sorted(o.ms for o in outcomes)
    return {
        "operations": len(outcomes),
        "mutations": sum(o.query.lstrip().startswith("mutation") for o in outcomes),
        "outcomes": dict(Counter(o.kind for o in outcomes).most_common()),
        "error_codes": dict(codes.most_common()),
        "p50_ms": round(ms[len(ms) // 2], 1) if ms else None,
        "p99_ms": round(ms[int(len(ms) * 0.99)], 1) if ms else None,
        "max_ms": round(ms[-1], 1) if ms else None,
        "slowest": [
            {"role": role, "ms": round(o.ms, 1), "outcome": o.kind, "operation": o.query}
            for o in sorted(outcomes, key=lambda o: -o.ms)[:SLOWEST]
        ],
        "failures": failures,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# API fuzzing ({result['operations']:,} operations, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}; hypothesis {result['hypothesis']}, "
        f"hypothesis-graphql {result['hypothesis_graphql']}; seed {result['seed']}. Graph: a generated shop "
        f"of {result['users']:,} users ({result['nodes']:,} nodes, {result['relationships']:,} relationships "
        "before the run), every analysis and the rule tags. Operations from tests/test_fuzz_api.py's "
        "generator, sent in process through the real app (bench/fuzz.py docstring); "
        f"{result['seconds']:.0f} s in all ({result['operations'] / max(result['seconds'], 1e-9):.1f} "
        "operations/s including generation).",
        "",
        f"**Failures: {result['failure_count']}** (HTTP other than 200, INTERNAL_SERVER_ERROR, an uncoded "
        "error, or a trace / driver / Cypher text in an error).",
        "",
        "| role | operations | mutations | ok | failures | p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for role, part in result["roles"].items():
        outcomes = part["outcomes"]
        lines.append(
            f"| {role} | {part['operations']:,} | {part['mutations']:,} | {outcomes.get('ok', 0):,} | "
            f"{outcomes.get('failure', 0):,} | {part['p50_ms']} | {part['p99_ms']} | {part['max_ms']} |"
        )
    lines += ["", "Outcomes (an operation with errors counts under its first error's code):", ""]
    lines += ["| role | outcome | operations |", "|---|---|---:|"]
    for role, part in result["roles"].items():
        lines += [f"| {role} | {kind} | {n:,} |" for kind, n in part["outcomes"].items()]
    lines += [
        "",
        "Error codes over all errors of all answers:",
        "",
        "| role | code | errors |",
        "|---|---|---:|",
    ]
    for role, part in result["roles"].items():
        lines += [f"| {role} | {code} | {n:,} |" for code, n in part["error_codes"].items()]
    lines += ["", f"## Slowest {SLOWEST} operations", ""]
    slowest = sorted(
        (s for part in result["roles"].values() for s in part["slowest"]), key=lambda s: -s["ms"]
    )[:SLOWEST]
    for s in slowest:
        lines += [
            f"- {s['ms']:,} ms, {s['role']}, {s['outcome']}:",
            "",
            "```graphql",
            s["operation"],
            "```",
            "",
        ]
    lines += ["## Failures", ""]
    failures = [f for part in result["roles"].values() for f in part["failures"]]
    if not failures:
        lines.append("None.")
    for f in failures:
        lines += [f"- {f['role']}: {'; '.join(f['problems'])}", "", "```graphql", f["operation"], "```", ""]
        lines += ["Answer:", "", "```json", f["answer"][:1500], "```", ""]
        if f["logged"]:
            lines += ["Logged by the server:", "", "```", "\n".join(f["logged"])[-3000:], "```", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000, help="operations in all (admin and analyst)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds an operation may take")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    catcher = TraceCatcher()
    logging.getLogger("api").addHandler(catcher)
    logging.getLogger("api").propagate = False  # their traces go to the report, not the console
    escaped.addHandler(catcher)
    escaped.propagate = False

    analyst = int(args.count * ANALYST_SHARE)
    counts = {"admin": args.count - analyst, "analyst": analyst}
    with (
        tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp,
        fresh_neo4j(Path(tmp), "neo4j") as (info, _),
    ):
        workdir = Path(tmp)
        driver = open_driver(info, wait_s=60)
        log.info("generating and analysing %d users", args.users)
        graph = analysed_graph(driver, info, workdir / "shop", users=args.users)
        (size,), _, _ = driver.execute_query(
            "MATCH (n) WITH count(n) AS nodes MATCH ()-[r]->() RETURN nodes, count(r) AS relationships"
        )
        pools = pools_from(graph.store)
        keys = secured(workdir / "keys", api_rate_limit=0)
        roles: dict[str, Any] = {}
        started = time.perf_counter()
        client = TestClient(
            LogEscapes(create_app(keys.settings, connection=info)), raise_server_exceptions=False
        ).__enter__()
        try:
            for offset, (role, count) in enumerate(counts.items()):
                if count:
                    log.info("%d operations as %s", count, role)
                    fuzzer = Fuzzer(client, pools, keys.headers(role))
                    found = drive(fuzzer, count, args.seed + offset, catcher, args.timeout)
                    roles[role] = summarise(role, found)
        except BaseException:
            client.__exit__(None, None, None)
            raise
        seconds = time.perf_counter() - started
        hung = any(HANGS in p for part in roles.values() for f in part["failures"] for p in f["problems"])
        if not hung:  # the app's shutdown would wait for ever for a request that hangs
            client.__exit__(None, None, None)
        driver.close()

    result = {
        "operations": sum(part["operations"] for part in roles.values()),
        "failure_count": sum(len(part["failures"]) for part in roles.values()),
        "seconds": round(seconds, 1),
        "seed": args.seed,
        "users": args.users,
        "nodes": size["nodes"],
        "relationships": size["relationships"],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "hypothesis": metadata.version("hypothesis"),
        "hypothesis_graphql": metadata.version("hypothesis-graphql"),
        "roles": roles,
    }
    write_results("fuzz", result, markdown(result))
    log.info(
        "%d operations, %d failures: bench/results/fuzz.md", result["operations"], result["failure_count"]
    )
    code = 1 if result["failure_count"] else 0
    if hung:  # the test client's portal thread still waits on that request: do not wait for it
        log.warning("a request never answered (see the failures); exiting without shutting the app down")
        logging.shutdown()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())

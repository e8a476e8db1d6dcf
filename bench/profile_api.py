"""Where one API request's time goes (issue 17): CPU per request of each of bench/api.py's operations,
split by stage (HTTP and ASGI, GraphQL, personagraph's api/ and graph/ code, the Neo4j driver, JSON,
the event loop and thread hops), so the next speed step is visible before and after a change.

The app runs in process (``create_app`` behind httpx's ASGI transport, one event loop, the driver's
calls in its worker threads as in production) against a local Neo4j holding a generated, loaded
and analysed graph. Each operation is first timed without a profiler (wall and CPU per request,
sequentially: one client), then run again under yappi's CPU clock, which sees every thread. yappi
slows what it measures, so the stages are reported as shares of the profiled CPU, and in ms as those
shares of the unprofiled CPU per request. The baseline is the same run's unprofiled request.

    python bench/profile_api.py [--users 2000] [--requests 200]

Writes bench/results/api-profile.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402 - after the path setup
import yappi  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bench.api import MEMBERS, PERSONAGRAPH, QUERIES  # noqa: E402
from bench.audiences import KINDS, load  # noqa: E402
from bench.common import api_credentials, machine, write_results  # noqa: E402
from bench.graphs import dataset, fresh_neo4j  # noqa: E402
from personagraph.api.app import create_app  # noqa: E402
from personagraph.graph.analytics.copurchase import run_copurchase  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.profile_api")

# Stages by where a function's code lives (its own CPU time, not its callees').
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Neo4j driver (Bolt, packstream, hydration)", ("neo4j/",)),
    ("graphql-core (parse, validate, execute)", ("graphql/",)),
    ("Strawberry", ("strawberry/",)),
    ("personagraph api/ (auth, limits, policy, types, resolvers)", ("personagraph/api/", "/api/")),
    ("personagraph graph/ (reads, typed results)", ("personagraph/graph/", "/graph/")),
    ("pydantic", ("pydantic",)),
    (
        "HTTP and ASGI (FastAPI, Starlette, the in-process client)",
        # httpx's in-process transport looks for sniffio on every request (an import lookup): the
        # bench client's cost, not the server's.
        ("starlette/", "fastapi/", "httpx/", "h11", "<frozen importlib"),
    ),
    ("JSON", ("json/",)),
    ("event loop and thread hops", ("asyncio/", "anyio/", "threading", "concurrent/", "queue", "selectors")),
)
OTHER = "other (standard library, logging, metrics)"


def stage_of(module: str) -> str:
    for stage, markers in STAGES:
        if any(marker in module for marker in markers):
            return stage
    return OTHER


def inputs(store: GraphStore, count: int, seed: int) -> dict[str, list[Any]]:
    """Real ids for each operation: users with friends and orders, products with pairs, tag and city
    (for the audience count and the members page)."""
    rng = random.Random(seed)
    users = [
        r["id"]
        for r in store.driver.execute_query(
            "MATCH (u:User) WHERE EXISTS { (u)-[:FRIEND_OF]-() } AND EXISTS { (u)-[:PLACED]->() } "
            "RETURN u.userId AS id ORDER BY id LIMIT 5000",
            database_="neo4j",
        ).records
    ]
    skus = [
        r["sku"]
        for r in store.driver.execute_query(
            "MATCH (p:Product) WHERE EXISTS { (p)-[:BOUGHT_WITH]->() } RETURN p.sku AS sku ORDER BY sku",
            database_="neo4j",
        ).records
    ]
    pairs = [
        (r["tag"], r["city"])
        for r in store.driver.execute_query(
            "MATCH (u:User)-[:HAS_TAG]->(t:Tag) RETURN t.tagId AS tag, u.city AS city, count(*) AS n "
            "ORDER BY n DESC LIMIT 200",
            database_="neo4j",
        ).records
    ]
    pick = lambda pool: [rng.choice(pool) for _ in range(count)]  # noqa: E731
    return {
        "profile": pick(users),
        "cross-sell": pick(skus),
        "audience count": pick(pairs),
        MEMBERS: pick(pairs),  # the biggest pairs: full pages of members
    }


def variables(query: str, item: Any) -> dict[str, Any]:
    if query == "profile":
        return {"id": item}
    if query == "cross-sell":
        return {"sku": item}
    tag, city = item
    return {
        "definition": {
            "and": [{"tag": {"tagId": tag}}, {"attribute": {"field": "city", "op": "eq", "value": city}}]
        }
    }


async def measure(app: Any, auth: str, pool: dict[str, list[Any]], warm: int) -> dict[str, Any]:
    """Per operation: unprofiled wall and CPU per request, then yappi's CPU by stage and function."""
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"Authorization": auth}

            async def ask(query: str, item: Any) -> None:
                body = {"query": PERSONAGRAPH[query], "variables": variables(query, item)}
                response = await client.post("/graphql", json=body, headers=headers)
                answer = response.json()
                if response.status_code != 200 or answer.get("errors"):
                    raise RuntimeError(f"{query} {item!r}: {response.status_code} {str(answer)[:300]}")

            for query in QUERIES:
                items = pool[query]
                for item in items[:warm]:
                    await ask(query, item)
                wall, cpu = time.perf_counter(), time.process_time()
                for item in items:
                    await ask(query, item)
                n = len(items)
                wall_ms = (time.perf_counter() - wall) / n * 1000
                cpu_ms = (time.process_time() - cpu) / n * 1000
                yappi.clear_stats()
                yappi.set_clock_type("cpu")
                yappi.start(builtins=False)
                for item in items:
                    await ask(query, item)
                yappi.stop()
                results[query] = breakdown(yappi.get_func_stats(), n, wall_ms, cpu_ms)
                log.info("%s: %.1f ms wall, %.1f ms CPU a request", query, wall_ms, cpu_ms)
    return results


def breakdown(stats: Any, n: int, wall_ms: float, cpu_ms: float) -> dict[str, Any]:
    by_stage: dict[str, float] = defaultdict(float)
    functions: Counter[str] = Counter()
    calls: dict[str, int] = {}
    for s in stats:
        module = s.module.replace("\\", "/")
        by_stage[stage_of(module)] += s.tsub
        short = module.split("site-packages/")[-1].split(str(ROOT) + "/")[-1]
        name = f"{short}:{s.name}"
        functions[name] += s.tsub
        calls[name] = calls.get(name, 0) + s.ncall
    total = sum(by_stage.values()) or 1.0
    return {
        "requests": n,
        "wall_ms": round(wall_ms, 2),
        "cpu_ms": round(cpu_ms, 2),
        "stages": {
            stage: {"share": round(t / total, 4), "cpu_ms": round(t / total * cpu_ms, 2)}
            for stage, t in sorted(by_stage.items(), key=lambda kv: -kv[1])
        },
        "top_functions": [
            {"function": f, "share": round(t / total, 4), "calls_per_request": round(calls[f] / n, 1)}
            for f, t in functions.most_common(15)
        ],
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Where an API request's time goes ({result['users']:,} users, {result['when']})",
        "",
        f"Machine: {result['machine']}. Method: bench/profile_api.py docstring (one client, in process, "
        f"{result['requests']} requests an operation; stages are shares of yappi's CPU, in ms of the "
        "unprofiled CPU per request). Operations: bench/api.py's, verbatim, as an admin key.",
        "",
        "| operation | wall ms a request | CPU ms a request |",
        "|---|---:|---:|",
    ]
    ops = result["operations"]
    lines += [f"| {q} | {ops[q]['wall_ms']:.1f} | {ops[q]['cpu_ms']:.1f} |" for q in ops]
    stages = [s for s, _ in STAGES] + [OTHER]
    lines += ["", "## CPU by stage (ms a request, share)", ""]
    lines.append("| stage | " + " | ".join(ops) + " |")
    lines.append("|---|" + "---:|" * len(ops))
    for stage in stages:
        cells = []
        for q in ops:
            got = ops[q]["stages"].get(stage, {"cpu_ms": 0.0, "share": 0.0})
            cells.append(f"{got['cpu_ms']:.2f} ({got['share']:.0%})")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    for q in ops:
        lines += ["", f"## {q}: the functions with the most own CPU", ""]
        lines += ["| function | share | calls a request |", "|---|---:|---:|"]
        lines += [
            f"| `{f['function']}` | {f['share']:.1%} | {f['calls_per_request']:,} |"
            for f in ops[q]["top_functions"]
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2_000, help="generated users (default 2,000)")
    parser.add_argument("--seed", type=int, default=42, help="dataset and input draw (default 42)")
    parser.add_argument("--requests", type=int, default=200, help="requests an operation, each way (200)")
    parser.add_argument("--warm", type=int, default=20, help="requests first, not counted (20)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("neo4j", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="persona-bench-")))
        info: ConnectionInfo
        info, _ = stack.enter_context(fresh_neo4j(workdir, "neo4j"))
        driver = open_driver(info, wait_s=60)
        stack.callback(driver.close)
        store = GraphStore(driver, "neo4j")
        load(store, dataset(args.users, args.seed), KINDS, workdir / "rejects")
        run_copurchase(store)
        pool = inputs(store, args.requests, args.seed)
        env, auth = api_credentials(workdir, "admin")
        settings = Settings(
            api_keys_file=Path(env["PERSONA_API_KEYS_FILE"]),
            audit_log=Path(env["PERSONA_AUDIT_LOG"]),
            secret_key=SecretStr(env["PERSONA_SECRET_KEY"]),
            data_dir=workdir,
            api_rate_limit=0,
        )
        operations = asyncio.run(measure(create_app(settings, connection=info), auth, pool, args.warm))
    result = {
        "users": args.users,
        "requests": args.requests,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "operations": operations,
    }
    text = markdown(result)
    write_results("api-profile", result, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

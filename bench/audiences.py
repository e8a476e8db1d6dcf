"""Audience benchmark: compiled audience statements vs hand-written Cypher doing the same, same graph, same run.

A generated dataset (100k users by default, 1M with --million) is loaded into a fresh local Neo4j
(channels, products, users, tags, user_tags, orders, ties; events and identities with --events).
For each scenario, the marketing-purpose count (members and those left out by consent) and the first
page of 50 member ids are timed through graph.audiences.service (parse + compile + run) and through a
hand-written query giving the same answer (checked equal); median of --runs runs after warm-ups,
ours and the baseline alternating. Results: bench/results/audiences.json and .md.

    .venv/bin/python bench/audiences.py               # 100k users
    .venv/bin/python bench/audiences.py --million     # 1M users (long)
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neo4j import RoutingControl  # noqa: E402 - after the path setup

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from bench.graphs import dataset, fresh_neo4j, running_neo4j  # noqa: E402
from personagraph.graph.audiences.service import audience_members, count_audience  # noqa: E402
from personagraph.graph.records import RowContext  # noqa: E402
from personagraph.graph.server.connection import open_driver  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402
from personagraph.loaders.pipeline import LoadOptions, load_file  # noqa: E402

log = logging.getLogger("bench.audiences")
KINDS = ("channels", "products", "users", "tags", "user_tags", "orders", "ties")
PAGE = 50
TARGET = 1.2

EXCLUDED = "sum(CASE WHEN u.marketingConsent = true THEN 0 ELSE 1 END) AS excluded"
ACTIVE = "(h.expiresAt IS NULL OR h.expiresAt > datetime())"
# Hand-written equivalents: {scenario: (count query, first page query)}; pages take $limit.
BASELINES: dict[str, tuple[str, str]] = {
    "simple tag": (
        f"MATCH (:Tag {{tagId: $tag}})<-[h:HAS_TAG]-(u:User) WHERE {ACTIVE} RETURN count(*) AS total, {EXCLUDED}",
        f"MATCH (:Tag {{tagId: $tag}})<-[h:HAS_TAG]-(u:User) WHERE {ACTIVE} AND u.marketingConsent = true "
        "RETURN u.userId AS userId ORDER BY userId LIMIT $limit",
    ),
    "tag AND city": (
        f"MATCH (:Tag {{tagId: $tag}})<-[h:HAS_TAG]-(u:User {{city: $city}}) WHERE {ACTIVE} "
        f"RETURN count(*) AS total, {EXCLUDED}",
        f"MATCH (:Tag {{tagId: $tag}})<-[h:HAS_TAG]-(u:User {{city: $city}}) WHERE {ACTIVE} "
        "AND u.marketingConsent = true RETURN u.userId AS userId ORDER BY userId LIMIT $limit",
    ),
    "bought in window": (
        "MATCH (:Product {sku: $sku})<-[:CONTAINS]-(o:Order)<-[:PLACED]-(u:User) "
        "WHERE $start <= o.orderedAt <= $end WITH DISTINCT u "
        f"RETURN count(*) AS total, {EXCLUDED}",
        "MATCH (:Product {sku: $sku})<-[:CONTAINS]-(o:Order)<-[:PLACED]-(u:User) "
        "WHERE $start <= o.orderedAt <= $end AND u.marketingConsent = true "
        "RETURN DISTINCT u.userId AS userId ORDER BY userId LIMIT $limit",
    ),
    ">=2 friends bought X": (
        "MATCH (:Product {sku: $sku})<-[:CONTAINS]-(:Order)<-[:PLACED]-(f:User) WITH DISTINCT f "
        "MATCH (f)-[:FRIEND_OF]-(u:User) WITH u, count(f) AS buyers WHERE buyers >= 2 "
        f"RETURN count(*) AS total, {EXCLUDED}",
        "MATCH (:Product {sku: $sku})<-[:CONTAINS]-(:Order)<-[:PLACED]-(f:User) WITH DISTINCT f "
        "MATCH (f)-[:FRIEND_OF]-(u:User) WHERE u.marketingConsent = true "
        "WITH u, count(f) AS buyers WHERE buyers >= 2 "
        "RETURN u.userId AS userId ORDER BY userId LIMIT $limit",
    ),
}


def definitions(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The audience language's version of each scenario."""
    bought = {"action": "bought", "sku": p["sku"]}
    return {
        "simple tag": {"tag": {"tagId": p["tag"]}},
        "tag AND city": {
            "and": [
                {"tag": {"tagId": p["tag"]}},
                {"attribute": {"field": "city", "op": "eq", "value": p["city"]}},
            ]
        },
        "bought in window": {
            "behavior": {**bought, "from": p["start"].isoformat(), "to": p["end"].isoformat()}
        },
        ">=2 friends bought X": {"friends": {"atLeast": 2, "who": {"behavior": bought}}},
    }


def pick_parameters(store: GraphStore) -> dict[str, Any]:
    """The most used tag, its most common city, the most bought product, its last 180 days of orders."""
    run = store.driver.execute_query
    tag = run("MATCH (t:Tag) RETURN t.tagId AS tag ORDER BY COUNT { (t)<-[:HAS_TAG]-() } DESC LIMIT 1")[0][0][
        "tag"
    ]
    city = run(
        "MATCH (:Tag {tagId: $tag})<-[:HAS_TAG]-(u:User) WHERE u.city IS NOT NULL "
        "RETURN u.city AS city, count(*) AS n ORDER BY n DESC LIMIT 1",
        tag=tag,
    )[0][0]["city"]
    sku = run("MATCH (p:Product) RETURN p.sku AS sku ORDER BY COUNT { (p)<-[:CONTAINS]-() } DESC LIMIT 1")[0][
        0
    ]["sku"]
    latest = run("MATCH (o:Order) RETURN max(o.orderedAt) AS t")[0][0]["t"].to_native()
    return {"tag": tag, "city": city, "sku": sku, "start": latest - dt.timedelta(days=180), "end": latest}


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def bench_scenario(
    store: GraphStore, name: str, params: dict[str, Any], runs: int, warmup: int
) -> dict[str, Any]:
    definition = definitions(params)[name]
    count_q, page_q = BASELINES[name]
    run = store.driver.execute_query

    def ours_count() -> tuple[int, int]:
        c = count_audience(store, definition, purpose="marketing")
        return c.count + c.excluded_by_consent, c.excluded_by_consent

    def hand_count() -> tuple[int, int]:
        record = run(count_q, params, database_=store.database, routing_=RoutingControl.READ)[0][0]
        return record["total"], record["excluded"]

    def ours_page() -> list[str]:
        return audience_members(store, definition, first=PAGE, purpose="marketing").users

    def hand_page() -> list[str]:
        records = run(
            page_q, {**params, "limit": PAGE + 1}, database_=store.database, routing_=RoutingControl.READ
        )[0]
        return [r["userId"] for r in records][:PAGE]

    result: dict[str, Any] = {"definition": definition}
    for kind, ours, hand in (("count", ours_count, hand_count), ("page", ours_page, hand_page)):
        for fn in (ours, hand, ours, hand):
            median_ms(fn, warmup)
        ours_times, hand_times = [], []
        for _ in range(runs):  # alternate so drift hits both alike
            ours_times.append(median_ms(ours, 1)[0])
            hand_times.append(median_ms(hand, 1)[0])
        got, expected = ours(), hand()
        if got != expected:
            raise AssertionError(
                f"{name} {kind}: ours {str(got)[:200]} != hand-written {str(expected)[:200]}"
            )
        result[kind] = {
            "ours_ms": round(statistics.median(ours_times), 2),
            "hand_ms": round(statistics.median(hand_times), 2),
            "ratio": round(statistics.median(ours_times) / statistics.median(hand_times), 3),
        }
        if kind == "count":
            result["members"], result["excluded_by_consent"] = got
    log.info("%s: %s", name, {k: v for k, v in result.items() if k != "definition"})
    return result


def load(store: GraphStore, data: Path, kinds: tuple[str, ...], rejects: Path) -> dict[str, float]:
    options = LoadOptions(
        batch_size=5000, rejects_dir=rejects, context=RowContext(identity_salt="bench-salt")
    )
    seconds: dict[str, float] = {}
    for kind in kinds:
        log.info("loading %s", kind)
        started = time.perf_counter()
        load_file(store, data / f"{kind}.csv", options=options)
        seconds[kind] = round(time.perf_counter() - started, 1)
    return seconds


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Audience benchmark ({result['users']:,} users, {result['date']})",
        "",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}. Median of {result['runs']} runs after "
        "warm-up; purpose `marketing` (count = members + left out by consent; page = first "
        f"{PAGE} consenting member ids). Ours = graph.audiences.service end to end (parse, compile, run); "
        f"hand = hand-written Cypher with the same answer (checked). Target: ours / hand <= {TARGET}.",
        "",
        "| scenario | matching users | count ours ms | count hand ms | ratio | page ours ms | page hand ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in result["scenarios"].items():
        c, p = r["count"], r["page"]
        lines.append(
            f"| {name} | {r['members']:,} | {c['ours_ms']:.1f} | {c['hand_ms']:.1f} | {c['ratio']:.2f} | "
            f"{p['ours_ms']:.1f} | {p['hand_ms']:.1f} | {p['ratio']:.2f} |"
        )
    p = result["parameters"]
    lines += [
        "",
        f"Parameters: tag `{p['tag']}`, city `{p['city']}`, sku `{p['sku']}`, window {p['start']} .. {p['end']}.",
        f"Loaded ({', '.join(f'{k} {v}s' for k, v in result['load_seconds'].items())}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 users")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--events", action="store_true", help="also load events and identities (slow)")
    parser.add_argument(
        "--neo4j-dir",
        type=Path,
        help="use the loaded local Neo4j running in this folder (PERSONA_NEO4J_LOCAL_DIR) instead of loading",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.WARNING)
    users = 1_000_000 if args.million else args.users
    kinds = (*KINDS[:4], "identities", *KINDS[4:6], "events", KINDS[6]) if args.events else KINDS
    from personagraph.graph.settings import Settings

    with ExitStack() as stack:
        if args.neo4j_dir:
            info, _ = running_neo4j(args.neo4j_dir)
        else:
            data = dataset(users, args.seed)
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="persona-bench-")))
            info, _ = stack.enter_context(fresh_neo4j(tmp, "neo4j"))
        driver = open_driver(info, wait_s=60)
        store = GraphStore(driver, "neo4j")
        load_seconds = {} if args.neo4j_dir else load(store, data, kinds, tmp / "rejects")
        params = pick_parameters(store)
        log.info("parameters: %s", params)
        scenarios = {name: bench_scenario(store, name, params, args.runs, args.warmup) for name in BASELINES}
        loaded = driver.execute_query("MATCH (u:User) RETURN count(u) AS n")[0][0]["n"]
        driver.close()
    result = {
        "users": loaded,
        "seed": args.seed,
        "runs": args.runs,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "load_seconds": load_seconds,
        "parameters": {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in params.items()},
        "scenarios": scenarios,
    }
    write_results("audiences" if loaded < 1_000_000 else "audiences-1m", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Analytics engines benchmark: `persona analyze --engine python` against `--engine gds` on one graph, one run.

A generated shop (100k users by default, ``--users 1000000`` for 1M; users, ties, products and orders,
no behaviour events) goes into a fresh local Neo4j through the offline importer. Each engine then runs
influence (PageRank; 2-hop reach with ``--reach``), social communities and co-purchase (pairs and
product communities) end to end, in its own process so its peak memory is its own:
- python: numpy/scipy/igraph in the client; memory is the worker's peak RSS and tracemalloc peak;
- gds: Graph Data Science inside Neo4j; memory is GDS's estimate (bytesMax) and the projected graph's
  size as GDS measures it, beside the server's peak RSS.
Quality, per algorithm: PageRank top-100 overlap between the engines, and modularity of each engine's
written communities measured the same way (igraph, on the Python engine's graph).
Results: bench/results/analytics-engines.json and bench/results/analytics-engines.md.

    .venv/bin/python bench/analytics_engines.py                  # 100k users
    .venv/bin/python bench/analytics_engines.py --users 1000000  # 1M users (give Neo4j --heap 4g)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from bench.graphs import SALT, dataset, store_of  # noqa: E402
from personagraph.graph.records import RowContext  # noqa: E402
from personagraph.graph.server.choose import Neo4jSource, local_neo4j  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402
from personagraph.graph.server.local import free_port  # noqa: E402
from personagraph.graph.server.migrations import apply_schema  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.analytics_engines")
FILES = ("channels.csv", "products.csv", "users.csv", "orders.csv", "ties.csv")
ENGINES = ("python", "gds")
ANALYSES = ("influence", "communities", "copurchase")
TOP = 100


def social_modularity(store: GraphStore) -> float:
    """Modularity of the stored socialCommunity on the Python engine's graph (no community: singleton)."""
    import numpy as np

    from personagraph.graph.analytics.influence import InfluenceWeights
    from personagraph.graph.analytics.social_communities import undirected_graph
    from personagraph.graph.analytics.social_projection import project_social

    social = project_social(store)
    graph = undirected_graph(social.edges, social.users.size, InfluenceWeights().by_kind())
    records, _, _ = store.driver.execute_query("MATCH (u:User) RETURN u.userId AS id, u.socialCommunity AS c")
    stored = {r["id"]: r["c"] for r in records}
    labels = [stored[k] or f"alone-{k}" for k in social.users.keys.tolist()]
    _, membership = np.unique(labels, return_inverse=True)
    return float(graph.modularity(membership.tolist(), weights="weight"))


def product_modularity(store: GraphStore) -> float:
    """Modularity of the stored product communities on the kept pairs, weighted by count."""
    import igraph as ig
    import numpy as np

    records, _, _ = store.driver.execute_query(
        "MATCH (a:Product)-[r:BOUGHT_WITH]-(b:Product) WHERE id(a) < id(b) "
        "RETURN id(a) AS a, id(b) AS b, max(r.count) AS n, a.productCommunity AS ca, b.productCommunity AS cb"
    )
    nodes = sorted({r["a"] for r in records} | {r["b"] for r in records})
    index = {n: i for i, n in enumerate(nodes)}
    community = {r["a"]: r["ca"] for r in records} | {r["b"]: r["cb"] for r in records}
    graph = ig.Graph(n=len(nodes), edges=[(index[r["a"]], index[r["b"]]) for r in records])
    graph.es["weight"] = [float(r["n"]) for r in records]
    _, membership = np.unique([community[n] for n in nodes], return_inverse=True)
    return float(graph.modularity(membership.tolist(), weights="weight"))


def worker(store: GraphStore, engine: str, reach: bool) -> dict[str, Any]:
    """Run the three analyses with one engine; time, memory and what quality needs."""
    from personagraph.cli.demo import run_analysis

    out: dict[str, Any] = {}
    for name in ANALYSES:
        tracemalloc.start()
        started = time.perf_counter()
        report = run_analysis(store, name, reach=reach, engine=engine)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        run_id = str(getattr(report, "run_id", ""))
        records, _, _ = store.driver.execute_query(
            "MATCH (r:AnalyticsRun {runId: $id}) RETURN r.inputSizes AS sizes, r.timings AS timings",
            id=run_id,
        )
        out[name] = {
            "seconds": round(seconds, 2),
            "tracemalloc_peak_mb": round(peak / 2**20, 1),
            "timings": json.loads(records[0]["timings"]),
            "input_sizes": json.loads(records[0]["sizes"]),
        }
    records, _, _ = store.driver.execute_query(
        "MATCH (u:User) WHERE u.influenceRank <= $top RETURN collect(u.userId) AS ids", top=TOP
    )
    out["top"] = sorted(records[0]["ids"])
    out["influence"]["pagerank_top"] = out.pop("top")
    out["communities"]["modularity"] = round(social_modularity(store), 5)
    out["copurchase"]["modularity"] = round(product_modularity(store), 5)
    return out


def run_worker(engine: str, info: ConnectionInfo, reach: bool, cap_s: float) -> dict[str, Any]:
    env = {**os.environ, "NEO4J_URI": info.uri, "PERSONA_NEO4J_PASSWORD": info.password}
    command = [sys.executable, __file__, "--worker", engine] + (["--reach"] if reach else [])
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=cap_s)
    except subprocess.TimeoutExpired:
        return {"status": f"over the {cap_s:.0f}s cap"}
    if done.returncode != 0:
        return {"status": "failed", "error": done.stderr[-1500:]}
    return {"status": "ok", **json.loads(done.stdout.strip().splitlines()[-1])}


def server_peak_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmHWM")), None)
    return round(int(line.split()[1]) / 1024, 1) if line else None


def load(users: int, seed: int, workdir: Path, heap: str) -> Any:
    """A fresh local Neo4j holding the shop without events, through the offline importer."""
    from personagraph.loaders.bulk.initial import initial_load
    from personagraph.loaders.pipeline import LoadOptions

    data = dataset(users, seed)
    subset = workdir / "data"
    subset.mkdir()
    for name in FILES:
        (subset / name).symlink_to(data / name)
    local = local_neo4j(Settings(neo4j_heap=heap), data_dir=workdir / "neo4j", port=free_port())
    local.start()
    with store_of(local) as store:
        apply_schema(store)
    options = LoadOptions(
        batch_size=10_000, rejects_dir=workdir / "r", context=RowContext(identity_salt=SALT)
    )
    started = time.perf_counter()
    initial_load(local, lambda: store_of(local), subset, options)
    log.info("loaded %d users in %.0fs", users, time.perf_counter() - started)
    return local


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--reach", action="store_true", help="influence also computes 2-hop reach")
    parser.add_argument("--heap", default="1g", help="the Neo4j heap (GDS works in it)")
    parser.add_argument("--cap", type=float, default=900.0, help="seconds each engine may take")
    parser.add_argument("--worker", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    if args.worker:
        info = ConnectionInfo(
            os.environ["NEO4J_URI"], "neo4j", os.environ["PERSONA_NEO4J_PASSWORD"], "neo4j", Neo4jSource.URI
        )
        result = worker(GraphStore(open_driver(info), "neo4j"), args.worker, args.reach)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({**result, "peak_rss_mb": round(peak, 1)}))
        return 0
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="persona-bench-engines-")))
        local = load(args.users, args.seed, tmp, args.heap)
        stack.callback(local.stop)
        info = ConnectionInfo.of_local(local)
        pid = json.loads((tmp / "neo4j" / "server.json").read_text())["pid"]
        with store_of(local) as store:
            sizes = store.read("analytics/read/gds_social_counts")[0]
        for engine in ENGINES:
            log.info("engine %s", engine)
            results[engine] = run_worker(engine, info, args.reach, args.cap)
            results[engine]["server_peak_rss_mb"] = server_peak_mb(pid)
            log.info("%s: %s", engine, results[engine].get("status"))
    result = {
        "users": int(sizes["users"]),
        "ties": int(sizes["follows"] + sizes["friends"] + sizes["referred"]),
        "reach": args.reach,
        "heap": args.heap,
        "seed": args.seed,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "results": results,
    }
    write_results("analytics-engines", result, markdown(result))
    print(markdown(result))
    return 0


def _mb(size: object) -> str:
    return f"{int(size) / 2**20:,.0f}" if isinstance(size, int | float) else "-"


def markdown(result: dict[str, Any]) -> str:
    res = result["results"]
    python, gds = res.get("python", {}), res.get("gds", {})
    lines = [
        f"# Analytics engines: python vs gds ({result['users']:,} users, {result['ties']:,} ties, {result['date']})",
        "",
        "`persona analyze <name> --engine python|gds` on the same graph, end to end (projection, compute,",
        f"write-back), one process per engine. Machine: {result['machine']}; Neo4j {result['neo4j_version']},",
        f"heap {result['heap']}; 2-hop reach {'on' if result['reach'] else 'off'}.",
        "",
        "| analysis | engine | seconds | projection s | compute s | write s | python peak MB (tracemalloc) "
        "| GDS estimate max MB | GDS graph MB | quality |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    overlap = "-"
    if python.get("status") == gds.get("status") == "ok":
        a, b = set(python["influence"]["pagerank_top"]), set(gds["influence"]["pagerank_top"])
        overlap = f"{len(a & b) / TOP:.2f}"
    for name in ANALYSES:
        for engine, r in (("python", python), ("gds", gds)):
            if r.get("status") != "ok":
                lines.append(f"| {name} | {engine} | {r.get('status')} | | | | | | | |")
                continue
            x = r[name]
            t = x["timings"]
            sizes = x["input_sizes"]
            quality = (
                f"top-{TOP} overlap {overlap}" if name == "influence" else f"modularity {x['modularity']:.4f}"
            )
            lines.append(
                f"| {name} | {engine} | {x['seconds']:.1f} | {t.get('projection', 0):.1f} | "
                f"{t.get('compute', 0) + t.get('reach', 0):.1f} | {t.get('write', 0) + t.get('summarise', 0):.1f} | "
                f"{x['tracemalloc_peak_mb']:.0f} | {_mb(sizes.get('gds_estimate_bytes_max'))} | "
                f"{_mb(sizes.get('gds_graph_bytes'))} | {quality} |"
            )
    lines += [
        "",
        f"Worker peak RSS: python {python.get('peak_rss_mb', '-')} MB, gds {gds.get('peak_rss_mb', '-')} MB "
        f"(the client process). Neo4j server peak RSS after python: {python.get('server_peak_rss_mb', '-')} MB, "
        f"after gds: {gds.get('server_peak_rss_mb', '-')} MB.",
        "GDS estimate: `gds.<algo>.<mode>.estimate` on a fictive graph of the real counts (projection and "
        "algorithm), checked before the run; GDS graph: `gds.graph.list` sizeInBytes of the projection. "
        "The co-purchase estimate is for the largest graph a run could keep (every product x max_pairs). "
        "Copurchase compute for gds is pair counting (numpy, as python) plus the GDS projection and Leiden.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

"""Analytics benchmark: influence + social communities, ours vs pure networkx vs GDS, same Neo4j, same run.

A generated dataset (users, ties; 100k users by default, 1M with --million) is loaded once into a
fresh local Neo4j. Each contender then runs end to end (projection or read, compute, write-back)
in its own process, so its peak memory is its own:
- ours: graph.analytics.influence (scipy PageRank) and graph.analytics.social_communities (igraph Leiden);
- networkx: the same read through the driver into nx.DiGraph, nx.pagerank, louvain_communities,
  the same write-back, under a time cap;
- gds: Graph Data Science in the same Neo4j (Cypher projection, pageRank.write, leiden.write), when
  the plugin resolved. Its memory is inside Neo4j's JVM and is reported as the server's peak RSS.
Results: bench/results/analytics.json and bench/results/analytics.md.

    .venv/bin/python bench/analytics.py            # 100k users
    .venv/bin/python bench/analytics.py --million  # 1M users
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
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from bench.graphs import dataset, fresh_neo4j, running_neo4j  # noqa: E402 - after the path setup
from personagraph.graph.server.choose import Neo4jSource  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.analytics")
KINDS_LOADED = ("channels", "users", "ties")
WEIGHTS = {"FOLLOWS": 1.0, "FRIEND_OF": 1.0, "REFERRED": 2.0}
# GDS and networkx compute PageRank and Leiden only; ours leaves out its 2-hop reach for the same work
# (`--reach` times it too).
REACH = os.environ.get("BENCH_ANALYTICS_REACH") == "1"  # set by --reach for the worker processes


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_ours(store: GraphStore) -> dict[str, Any]:
    from personagraph.graph.analytics.influence import run_influence
    from personagraph.graph.analytics.social_communities import run_social_communities
    from personagraph.graph.analytics.social_projection import project_social

    started = time.perf_counter()
    projection = project_social(store)  # one read of the social graph for both analyses
    run_influence(store, projection=projection, reach=REACH)
    communities = run_social_communities(store, min_size=1, projection=projection)
    return {
        "seconds": time.perf_counter() - started,
        "modularity": communities.modularity,
        "communities": communities.communities,
    }


def worker_networkx(store: GraphStore) -> dict[str, Any]:
    import networkx as nx

    started = time.perf_counter()
    records, _, _ = store.driver.execute_query(
        "MATCH (a:User)-[r:FOLLOWS|FRIEND_OF|REFERRED]->(b:User) RETURN a.userId AS a, b.userId AS b, type(r) AS t"
    )
    users, _, _ = store.driver.execute_query("MATCH (u:User) RETURN u.userId AS id")
    directed: nx.DiGraph[str] = nx.DiGraph()
    directed.add_nodes_from(r["id"] for r in users)
    for r in records:
        for a, b in ((r["a"], r["b"]), (r["b"], r["a"])) if r["t"] == "FRIEND_OF" else ((r["a"], r["b"]),):
            weight = (
                directed[a][b]["weight"] + WEIGHTS[r["t"]] if directed.has_edge(a, b) else WEIGHTS[r["t"]]
            )
            directed.add_edge(a, b, weight=weight)
    scores = nx.pagerank(directed, weight="weight")
    undirected = nx.Graph()
    undirected.add_nodes_from(directed)
    for r in records:
        a, b, w = r["a"], r["b"], WEIGHTS[r["t"]]
        undirected.add_edge(a, b, weight=undirected[a][b]["weight"] + w if undirected.has_edge(a, b) else w)
    communities = nx.community.louvain_communities(undirected, weight="weight", seed=42)
    modularity = nx.community.modularity(undirected, communities, weight="weight")
    membership = {u: i for i, members in enumerate(communities) for u in members}
    rows = [{"id": u, "score": s, "community": f"nx-{membership[u]}"} for u, s in scores.items()]
    for lo in range(0, len(rows), 10_000):
        store.driver.execute_query(
            "UNWIND $rows AS row MATCH (u:User {userId: row.id}) "
            "SET u.nxInfluence = row.score, u.nxCommunity = row.community",
            rows=rows[lo : lo + 10_000],
        )
    return {
        "seconds": time.perf_counter() - started,
        "modularity": modularity,
        "communities": len(communities),
    }


GDS_PROJECT = """
MATCH (a:User)-[r:FOLLOWS|FRIEND_OF|REFERRED]->(b:User)
WITH a, b, CASE type(r) WHEN 'REFERRED' THEN 2.0 ELSE 1.0 END AS w, type(r) = 'FRIEND_OF' AS both
UNWIND CASE WHEN both AND $mirror THEN [[a, b], [b, a]] ELSE [[a, b]] END AS pair
WITH gds.graph.project($name, pair[0], pair[1], {relationshipProperties: {weight: w}}, $config) AS g
RETURN g.nodeCount AS nodes, g.relationshipCount AS rels
"""


def worker_gds(store: GraphStore) -> dict[str, Any]:
    started = time.perf_counter()
    run = store.driver.execute_query
    run(GDS_PROJECT, name="directed", config={}, mirror=True)  # friendship counts both ways
    run(
        "CALL gds.pageRank.write('directed', {writeProperty: 'gdsInfluence', relationshipWeightProperty: 'weight'})"
    )
    run(GDS_PROJECT, name="undirected", config={"undirectedRelationshipTypes": ["*"]}, mirror=False)
    records, _, _ = run(
        "CALL gds.leiden.write('undirected', {writeProperty: 'gdsCommunity', relationshipWeightProperty: 'weight',"
        " randomSeed: 42, concurrency: 1}) YIELD modularity, communityCount RETURN modularity, communityCount"
    )
    for name in ("directed", "undirected"):
        run("CALL gds.graph.drop($name) YIELD graphName RETURN graphName", name=name)
    return {
        "seconds": time.perf_counter() - started,
        "modularity": records[0]["modularity"],
        "communities": records[0]["communityCount"],
    }


WORKERS = {"ours": worker_ours, "networkx": worker_networkx, "gds": worker_gds}


def run_worker(name: str, info: ConnectionInfo, cap_s: float) -> dict[str, Any]:
    env = {**os.environ, "NEO4J_URI": info.uri, "PERSONA_NEO4J_PASSWORD": info.password}
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", name],
            env=env,
            capture_output=True,
            text=True,
            timeout=cap_s,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"over the {cap_s:.0f}s cap"}
    if done.returncode != 0:
        return {"status": "failed", "error": done.stderr[-1500:]}
    return {"status": "ok", **json.loads(done.stdout.strip().splitlines()[-1])}


def server_peak_mb(pid: int | None) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next((x for x in status.splitlines() if x.startswith("VmHWM")), None)
    return int(line.split()[1]) / 1024 if line else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--million", action="store_true")
    parser.add_argument(
        "--reach", action="store_true", help="ours also computes 2-hop reach (GDS and networkx do not)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cap", type=float, default=900.0, help="seconds each contender may take")
    parser.add_argument(
        "--neo4j-dir",
        type=Path,
        help="use the loaded local Neo4j running in this folder (PERSONA_NEO4J_LOCAL_DIR) instead of loading",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.reach:
        os.environ["BENCH_ANALYTICS_REACH"] = "1"
    if args.worker:
        info = ConnectionInfo(
            os.environ["NEO4J_URI"], "neo4j", os.environ["PERSONA_NEO4J_PASSWORD"], "neo4j", Neo4jSource.URI
        )
        driver = open_driver(info)
        result = WORKERS[args.worker](GraphStore(driver, "neo4j"))
        print(json.dumps({**result, "peak_rss_mb": round(peak_rss_mb(), 1)}))
        return 0
    users = 1_000_000 if args.million else args.users
    from personagraph.graph.settings import Settings

    results: dict[str, Any] = {}
    with ExitStack() as stack:
        if args.neo4j_dir:
            info, pid = running_neo4j(args.neo4j_dir)
        else:
            data = dataset(users, args.seed)
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="persona-bench-")))
            info, _ = stack.enter_context(fresh_neo4j(tmp, "neo4j"))
            pid = json.loads((tmp / "neo4j" / "server.json").read_text())["pid"]
        driver = open_driver(info)
        store = GraphStore(driver, "neo4j")
        if not args.neo4j_dir:
            load_social(store, data, tmp / "r")
        counts, _, _ = driver.execute_query(
            "MATCH (u:User) WITH count(u) AS users MATCH ()-[r:FOLLOWS|FRIEND_OF|REFERRED]->() "
            "RETURN users, count(r) AS ties"
        )
        for name in ("ours", "gds", "networkx"):
            log.info("contender %s", name)
            results[name] = run_worker(name, info, args.cap)
            if name == "gds":
                results[name]["server_peak_rss_mb"] = server_peak_mb(pid)
            log.info("%s: %s", name, {k: v for k, v in results[name].items() if k != "error"})
        driver.close()
    result = {
        "users": counts[0]["users"],
        "ties": counts[0]["ties"],
        "seed": args.seed,
        "cap_s": args.cap,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "neo4j_version": Settings().neo4j_version,
        "results": results,
    }
    write_results("analytics" if result["users"] < 1_000_000 else "analytics-1m", result, markdown(result))
    print(markdown(result))
    return 0


def load_social(store: GraphStore, data: Path, rejects: Path) -> None:
    from personagraph.loaders.pipeline import LoadOptions, load_file

    for kind in KINDS_LOADED:
        log.info("loading %s", kind)
        load_file(store, data / f"{kind}.csv", options=LoadOptions(batch_size=5000, rejects_dir=rejects))


def markdown(result: dict[str, Any]) -> str:
    res = result["results"]
    ours = res.get("ours", {}).get("seconds")
    lines = [
        f"# Analytics benchmark ({result['users']:,} users, {result['ties']:,} ties, {result['date']})",
        "",
        "Influence (weighted PageRank) + social communities, end to end (read/projection, compute, write-back).",
        f"Machine: {result['machine']}; Neo4j {result['neo4j_version']}. Baseline for the ratios: ours.",
        "",
        "| contender | status | seconds | contender ÷ ours (time) | peak RSS MB | modularity | communities |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in res.items():
        seconds = r.get("seconds")
        ratio = f"{seconds / ours:.2f}" if seconds and ours else "-"
        rss = r.get("peak_rss_mb") if name != "gds" else r.get("server_peak_rss_mb")
        lines.append(
            f"| {name} | {r.get('status')} | {seconds:.1f} | {ratio} | {rss or '-'} | "
            f"{r.get('modularity', float('nan')):.4f} | {r.get('communities', '-')} |"
            if seconds
            else f"| {name} | {r.get('status')} | - | - | - | - | - |"
        )
    lines.append("")
    lines.append("GDS memory is the Neo4j server's peak RSS (its JVM holds the projection).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

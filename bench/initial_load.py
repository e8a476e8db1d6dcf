"""Initial-load benchmark: `persona load` through the offline importer against the importer run by hand.

Both start from an empty local Neo4j of their own, in the same run, on the same rows:
- **ours**: ``initial_load`` end to end: read, validate, reject, build the graph's tables, write the
  importer's files, stop Neo4j, ``neo4j-admin database import``, start, apply the schema, replay;
- **by hand**: the importer's files already written (not timed), then what a person would run: stop
  Neo4j, ``neo4j-admin database import`` with the same options, start, apply the same schema.
The targets (issue 20): ours <= 180 s at 1M users and <= 1.5x by hand. Both graphs are counted (nodes,
relationships) and must be equal. Results: bench/results/ingest-initial.json and .md.

    .venv/bin/python bench/initial_load.py               # 100k users
    .venv/bin/python bench/initial_load.py --million     # 1M users, the files bench/million.sh loads
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from bench.graphs import dataset, store_of  # noqa: E402
from personagraph.graph.records import RowContext  # noqa: E402
from personagraph.graph.server.choose import local_neo4j  # noqa: E402
from personagraph.graph.server.local import LocalNeo4j, free_port  # noqa: E402
from personagraph.graph.server.migrations import apply_schema  # noqa: E402
from personagraph.graph.server.offline_import import offline_import  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.loaders.bulk.initial import initial_load, prepare, write_import_files  # noqa: E402
from personagraph.loaders.pipeline import LoadOptions  # noqa: E402

log = logging.getLogger("bench.initial_load")
MILLION_FILES = (
    "channels",
    "products",
    "users",
    "tags",
    "user_tags",
    "orders",
    "ties",
)  # as bench/million.sh


def empty_neo4j(workdir: Path, name: str) -> LocalNeo4j:
    """A new local Neo4j with the schema applied, as `persona neo4j start` and `persona schema apply` leave it."""
    local = local_neo4j(Settings(), data_dir=workdir / name, port=free_port())
    local.start()
    with store_of(local) as store:
        apply_schema(store)
    return local


def counts(local: LocalNeo4j) -> dict[str, int]:
    with store_of(local) as store:
        row = store.read("server/read/count_data")[0]
        return {k: int(v) for k, v in row.items()}


def run_ours(data: Path, workdir: Path, options: LoadOptions) -> dict[str, Any]:
    local = empty_neo4j(workdir, "ours")
    try:
        started = time.perf_counter()
        done = initial_load(local, lambda: store_of(local), data, options)
        total = time.perf_counter() - started
        assert done.imported is not None
        found = counts(local)
    finally:
        local.stop()
    return {
        "seconds": round(total, 1),
        "steps": {k: round(v, 1) for k, v in done.seconds.items()},
        "importer_seconds": round(done.imported.seconds, 1),
        "rows_read": sum(r.read for r in done.reports),
        "rows_rejected": sum(r.rejected for r in done.reports),
        "counts": found,
    }


def run_by_hand(data: Path, workdir: Path, options: LoadOptions) -> dict[str, Any]:
    files = workdir / "by-hand-files"
    files.mkdir()
    prepared = prepare(data, dataclasses.replace(options, rejects_dir=workdir / "by-hand-rejects"))
    inputs = write_import_files(prepared.tables, files)
    del prepared
    local = empty_neo4j(workdir, "by-hand")
    try:
        started = time.perf_counter()
        imported = offline_import(local, inputs)
        with store_of(local) as store:
            schema_started = time.perf_counter()
            apply_schema(store, fresh_graph=True)  # the same files as ours: their schema step is ours
            schema = time.perf_counter() - schema_started
        total = time.perf_counter() - started
        found = counts(local)
    finally:
        local.stop()
        shutil.rmtree(files, ignore_errors=True)
    return {
        "seconds": round(total, 1),
        "importer_seconds": round(imported.seconds, 1),
        "schema_seconds": round(schema, 1),
        "counts": found,
    }


def markdown(result: dict[str, Any]) -> str:
    ours, hand = result["ours"], result["by_hand"]
    steps = ", ".join(f"{k} {v} s" for k, v in ours["steps"].items())
    lines = [
        f"# Initial load ({result['users']:,} users, {ours['rows_read']:,} rows), {result['date']}",
        "",
        f"Machine: {result['machine']}. One run; both start from an empty local Neo4j "
        f"(heap {result['heap']}, page cache {result['pagecache']}).",
        "",
        "| | seconds | target |",
        "|---|---:|---|",
        f"| `persona load` (offline importer path), end to end | {ours['seconds']} | <= 180 s at 1M users |",
        f"| by hand: `neo4j-admin database import` + restart + schema, same files | {hand['seconds']} | |",
        f"| by hand: the importer alone | {hand['importer_seconds']} | |",
        f"| **ratio ours / by hand** | **{result['ratio_to_by_hand']}** | <= 1.5 |",
        f"| ratio ours / the importer alone | {result['ratio_to_importer']} | |",
        "",
        f"Ours, by step: {steps} (the importer itself {ours['importer_seconds']} s; 'import' includes "
        "stopping and starting Neo4j).",
        f"Rows rejected (line and reason in the rejects files): {ours['rows_rejected']:,}.",
        f"Graphs equal in counts: {result['counts_equal']} ({ours['counts']}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 users, bench/million.sh's files")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", type=Path, help="load this dataset folder instead of generating one")
    parser.add_argument("--workdir", type=Path, help="where the two Neo4j live (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    users = 1_000_000 if args.million else args.users
    source = args.data or dataset(users, args.seed)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-initial-"))
    data = workdir / "files"
    data.mkdir(parents=True, exist_ok=True)
    names = MILLION_FILES if args.million else tuple(p.stem for p in source.glob("*.csv"))
    for name in names:
        (data / f"{name}.csv").symlink_to((source / f"{name}.csv").resolve())
    options = LoadOptions(rejects_dir=workdir / "rejects", context=RowContext(identity_salt="bench-salt"))
    settings = Settings()
    try:
        ours = run_ours(data, workdir, options)
        log.info("ours: %s", ours)
        by_hand = run_by_hand(data, workdir, options)
        log.info("by hand: %s", by_hand)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    result = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "users": users,
        "heap": settings.neo4j_heap,
        "pagecache": settings.neo4j_pagecache,
        "cpus": os.cpu_count(),
        "ours": ours,
        "by_hand": by_hand,
        "ratio_to_by_hand": round(ours["seconds"] / by_hand["seconds"], 2),
        "ratio_to_importer": round(ours["seconds"] / by_hand["importer_seconds"], 2),
        "counts_equal": ours["counts"] == by_hand["counts"],
    }
    write_results("ingest-initial" + ("-1m" if args.million else ""), result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

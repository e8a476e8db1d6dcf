"""Ingest benchmark: `persona load` against hand-written LOAD CSV ... CALL {} IN TRANSACTIONS.

Both load the same generated dataset into a fresh local Neo4j each, in the same run; `persona load`
runs twice, with and without the neo4j-rust-ext driver extension (a second venv under bench/).
Results: bench/results/ingest.json and bench/results/ingest.md (rows/s per file, ratios).

    .venv/bin/python bench/ingest.py               # 100k users
    .venv/bin/python bench/ingest.py --million     # 1M users (long)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from personagraph.graph.entities import KINDS  # noqa: E402
from personagraph.graph.server.choose import local_neo4j  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo, open_driver  # noqa: E402 - after the path setup
from personagraph.graph.server.local import free_port  # noqa: E402
from personagraph.graph.server.migrations import apply_schema  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.graph.store import GraphStore  # noqa: E402

log = logging.getLogger("bench.ingest")
BASELINE_DIR = Path(__file__).resolve().parent / "load_csv"
RUST_VENV = Path(__file__).resolve().parent / ".venv-rust"
SALT = "bench-salt"


@contextmanager
def fresh_neo4j(workdir: Path, name: str) -> Iterator[tuple[ConnectionInfo, Path]]:
    """A new, empty local Neo4j (own folder and port) with the schema applied."""
    local = local_neo4j(Settings(), data_dir=workdir / name, port=free_port())
    local.start()
    info = ConnectionInfo.of_local(local)
    try:
        driver = open_driver(info, wait_s=60)
        apply_schema(GraphStore(driver, "neo4j"))
        driver.close()
        yield info, local.import_dir
    finally:
        local.stop()


def running_neo4j(data_dir: Path) -> tuple[ConnectionInfo, int]:
    """An already loaded local Neo4j (started with PERSONA_NEO4J_LOCAL_DIR=data_dir), and its pid:
    so several benchmarks can share one long 1M-user load."""
    state = json.loads((data_dir / "server.json").read_text(encoding="utf-8"))
    local = local_neo4j(Settings(), data_dir=data_dir, port=int(state["port"]))
    info = ConnectionInfo.of_local(local)
    return info, int(state["pid"])


def dataset(users: int, seed: int) -> Path:
    """Generate once per (users, seed); kept under bench/.data (ignored by git)."""
    from personagraph.loaders.generator import generate

    folder = Path(__file__).resolve().parent / ".data" / f"users-{users}-seed-{seed}"
    if not (folder / "ties.csv").exists():
        log.info("generating %d users into %s", users, folder)
        generate(folder, users=users, seed=seed)
    return folder


def run_persona(
    python: Path, data: Path, info: ConnectionInfo, batch_size: int, workdir: Path
) -> dict[str, Any]:
    report = workdir / f"report-{python.parent.parent.name}.json"
    env = {
        **os.environ,
        "NEO4J_URI": info.uri,
        "PERSONA_NEO4J_PASSWORD": info.password,
        "PERSONA_IDENTITY_SALT": SALT,
        "PERSONA_BATCH_SIZE": str(batch_size),
    }
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(python),
            "-m",
            "personagraph.cli.main",
            "load",
            str(data),
            "--rejects",
            str(workdir / "rejects"),
            "--report-json",
            str(report),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    total = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise RuntimeError(f"persona load failed ({done.returncode}):\n{done.stderr[-3000:]}")
    files = {r["kind"]: {"rows": r["read"], "seconds": r["seconds"]} for r in json.loads(report.read_text())}
    return {"total_seconds": round(total, 2), "files": files}


def run_load_csv(data: Path, info: ConnectionInfo, import_dir: Path) -> dict[str, Any]:
    import_dir.mkdir(parents=True, exist_ok=True)
    driver = open_driver(info, wait_s=30)
    files: dict[str, Any] = {}
    started = time.perf_counter()
    with driver.session(database="neo4j") as session:
        for kind in KINDS:
            source = data / f"{kind}.csv"
            if not source.exists():
                continue
            shutil.copy(source, import_dir / source.name)
            text = (BASELINE_DIR / f"{kind}.cypher").read_text()
            t0 = time.perf_counter()
            session.run(text, url=f"file:///{source.name}", year=dt.date.today().year, salt=SALT).consume()  # type: ignore[arg-type]
            rows = sum(1 for _ in source.open(encoding="utf-8")) - 1
            files[kind] = {"rows": rows, "seconds": round(time.perf_counter() - t0, 3)}
    driver.close()
    return {"total_seconds": round(time.perf_counter() - started, 2), "files": files}


def rust_python() -> Path | None:
    """A venv with this project and neo4j-rust-ext, made once and brought up to date with the project's
    dependencies on every run (they change); None when it cannot be built."""
    python = RUST_VENV / "bin" / "python"
    if not python.exists():
        log.info("building %s with neo4j-rust-ext", RUST_VENV)
        subprocess.run([sys.executable, "-m", "venv", str(RUST_VENV)], check=True)
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-e", str(ROOT), "neo4j-rust-ext"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        log.warning("neo4j-rust-ext unavailable: %s", done.stderr[-500:])
        return None
    return python


def rate(entry: dict[str, Any]) -> float:
    return entry["rows"] / entry["seconds"] if entry["seconds"] else float("inf")


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    names = list(runs)
    lines = [
        f"# Ingest benchmark ({result['dataset']}: {result['users']:,} users, seed {result['seed']}, "
        f"{result['date']})",
        "",
        f"Machine: {result['machine']}. Baseline: `load_csv` (hand-written LOAD CSV ... CALL {{}} IN "
        "TRANSACTIONS OF 1000 ROWS, bench/load_csv/). "
        "Ratio = persona rows/s ÷ baseline rows/s (>= 1.0 is the target).",
        "",
        "| file | rows | "
        + " | ".join(f"{n} rows/s" for n in names)
        + " | persona / load_csv | persona+rust / load_csv |",
        "|---|---:|" + "---:|" * len(names) + "---:|---:|",
    ]
    base = runs["load_csv"]["files"]
    for kind, entry in base.items():
        cells = [f"{rate(runs[n]['files'][kind]):,.0f}" if kind in runs[n]["files"] else "-" for n in names]
        ratios = [
            f"{rate(runs[n]['files'][kind]) / rate(entry):.2f}"
            if n in runs and kind in runs[n]["files"]
            else "-"
            for n in ("persona", "persona+rust")
        ]
        lines.append(
            f"| {kind} | {entry['rows']:,} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |"
        )
    totals = " | ".join(f"{runs[n]['total_seconds']:.1f} s" for n in names)
    lines += ["", f"Wall time per run ({', '.join(names)}): {totals}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 users")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--data", type=Path, help="load this dataset folder instead of generating one")
    parser.add_argument("--skip-rust", action="store_true", help="do not build the neo4j-rust-ext venv")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    users = 1_000_000 if args.million else args.users
    data = args.data or dataset(users, args.seed)
    with (data / "users.csv").open(encoding="utf-8") as handle:
        users = sum(1 for _ in handle) - 1  # rows in the file actually loaded
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp:
        workdir = Path(tmp)
        with fresh_neo4j(workdir, "neo4j-load-csv") as (info, import_dir):
            log.info("baseline: LOAD CSV")
            runs["load_csv"] = run_load_csv(data, info, import_dir)
        with fresh_neo4j(workdir, "neo4j-persona") as (info, _):
            log.info("persona load (pure-Python packstream)")
            runs["persona"] = run_persona(Path(sys.executable), data, info, args.batch_size, workdir)
        rust = None if args.skip_rust else rust_python()
        if rust is not None:
            with fresh_neo4j(workdir, "neo4j-persona-rust") as (info, _):
                log.info("persona load (neo4j-rust-ext)")
                runs["persona+rust"] = run_persona(rust, data, info, args.batch_size, workdir)
    result = {
        "dataset": str(args.data) if args.data else "generated",
        "users": users,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "runs": runs,
    }
    write_results("ingest", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

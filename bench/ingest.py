"""Incremental-load benchmark: `persona load` against hand-written LOAD CSV ... CALL {} IN TRANSACTIONS.

Issue 20's incremental case: into a graph that already holds half of the data, load files of which half
the rows are new. From one generated dataset (``split_incremental``):
- **base**: the first half of each node file (channels, products, users, tags) and the rows of the other
  files whose every reference is in that half;
- **delta**: each node file whole (half its rows already loaded), and for every other file the rows the
  base holds plus as many rows it does not (in file order): half old, half new.
Each contender gets a fresh local Neo4j holding the base as it loads it itself (untimed: persona through
the offline importer, the baseline with its own LOAD CSV statements, so the rows the delta repeats find
the keys each made: an identity's hash and an order line's key differ between the two) and a restart;
then each delta file is loaded by every contender, one after the other (side by side, so a drift in the
machine's speed moves a file's times together), timed per file: `load_csv` (bench/load_csv/*.cypher,
the baseline), `persona` (`persona load FILE`, a subprocess, as a user runs it: rows the graph holds as
they are left out of the writes) and `persona_every_row` (the same with `--write-unchanged`). After the
delta the graphs are compared (count and property names per label and relationship type). Results:
bench/results/ingest.json and .md (rows/s per file, ratios; targets: >= 1.0x on every file, >= 40k
rows/s on ties).

    .venv/bin/python bench/ingest.py               # 100k users
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
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine, write_results  # noqa: E402 - after the path setup
from bench.graphs import SALT, dataset, store_of  # noqa: E402
from personagraph.graph.entities import KINDS  # noqa: E402
from personagraph.graph.fingerprint import graph_fingerprint  # noqa: E402
from personagraph.graph.records import RowContext  # noqa: E402
from personagraph.graph.server.choose import local_neo4j  # noqa: E402
from personagraph.graph.server.connection import ConnectionInfo  # noqa: E402
from personagraph.graph.server.local import LocalNeo4j, free_port  # noqa: E402
from personagraph.graph.server.migrations import apply_schema  # noqa: E402
from personagraph.graph.settings import Settings  # noqa: E402
from personagraph.loaders.bulk.initial import initial_load  # noqa: E402
from personagraph.loaders.pipeline import LoadOptions  # noqa: E402

log = logging.getLogger("bench.ingest")
BASELINE_DIR = Path(__file__).resolve().parent / "load_csv"

# Per file: the columns naming another file's rows, and which (the node files' keys are NODE_KEYS).
NODE_KEYS = {"channels": "channel_id", "products": "sku", "users": "user_id", "tags": "tag_id"}
REFERENCES: dict[str, dict[str, str]] = {
    "users": {"acquired_via": "channels"},
    "tags": {"parent_id": "tags"},
    "identities": {"user_id": "users"},
    "user_tags": {"user_id": "users", "tag_id": "tags"},
    "orders": {"user_id": "users", "sku": "products", "channel_id": "channels"},
    "events": {"user_id": "users", "target": "products", "channel_id": "channels"},
    "ties": {"src_user_id": "users", "dst_user_id": "users"},
}


def split_incremental(data: Path, out: Path) -> tuple[Path, Path]:
    """``out``/base and ``out``/delta from ``data`` (see the module docstring); made once per dataset."""
    base, delta = out / "base", out / "delta"
    if (delta / "ties.csv").exists():
        return base, delta
    base.mkdir(parents=True, exist_ok=True)
    delta.mkdir(parents=True, exist_ok=True)
    old: dict[str, pl.Series] = {}
    for kind in KINDS:
        source = data / f"{kind}.csv"
        if not source.exists():
            continue
        rows = pl.read_csv(source, infer_schema=False, quote_char=None)
        known = pl.lit(True)
        for column, target in REFERENCES.get(kind, {}).items():
            value = pl.col(column).fill_null("")
            if kind == "events" and column == "target":  # a search's target is text, not a product
                known &= (pl.col("kind") == "search") | value.is_in(old[target].implode())
            elif target == kind:  # a tag's parent among the tags kept before it
                continue
            else:
                known &= (value == "") | value.is_in(old[target].implode())
        if kind in NODE_KEYS:
            # The first half, a reference to a later row left blank (the delta's row sets it).
            kept = rows.head(rows.height // 2).with_columns(
                pl.when(known).then(pl.col(column)).otherwise(None).alias(column)
                for column in REFERENCES.get(kind, {})
                if REFERENCES[kind][column] != kind
            )
            if kind == "tags":
                parents = pl.col("parent_id").fill_null("").is_in(["", *kept["tag_id"].to_list()])
                kept = kept.with_columns(pl.when(parents).then(pl.col("parent_id")).otherwise(None))
            old[kind] = kept[NODE_KEYS[kind]]
            changed = rows
        else:
            flagged = rows.with_columns(known.alias("__old")).with_row_index("__line")
            kept = flagged.filter(pl.col("__old"))
            new = flagged.filter(~pl.col("__old")).head(kept.height)
            changed = pl.concat([kept, new]).sort("__line").drop("__line", "__old")
            kept = kept.drop("__line", "__old")
        kept.write_csv(base / source.name)
        changed.write_csv(delta / source.name)
        log.info("%s: base %d rows, delta %d rows", source.name, kept.height, changed.height)
    return base, delta


@contextmanager
def loaded_base(workdir: Path, name: str, base: Path, *, by_load_csv: bool = False) -> Iterator[LocalNeo4j]:
    """A new local Neo4j holding ``base``: loaded through the offline importer (persona's own shape), or
    with the baseline's LOAD CSV statements (untimed), so that the rows a contender's delta repeats find
    the keys it made itself (an identity's hash, an order line's key differ between the two)."""
    local = local_neo4j(Settings(), data_dir=workdir / name, port=free_port())
    local.start()
    try:
        with store_of(local) as store:
            apply_schema(store)
        if by_load_csv:
            for kind in KINDS:
                if (base / f"{kind}.csv").exists():
                    load_with_load_csv(base / f"{kind}.csv", local)
        else:
            options = LoadOptions(
                rejects_dir=workdir / f"{name}-base-rejects", context=RowContext(identity_salt=SALT)
            )
            initial_load(local, lambda: store_of(local), base, options)
        local.stop()  # both contenders start the delta from a restarted Neo4j (an empty page cache)
        local.start()
        yield local
    finally:
        local.stop()


def graph_shape(local: LocalNeo4j) -> dict[str, Any]:
    """Per node label and relationship type: how many, and the property names they hold (the content's
    digest differs between contenders: identity hashes and order line keys are made differently)."""
    with store_of(local) as store:
        parts = graph_fingerprint(store)
    return {name: {"count": part.count, "properties": list(part.properties)} for name, part in parts.items()}


def shape_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Where two graph_shape results differ, one line per label or type."""
    lines = []
    for name in sorted(a.keys() | b.keys()):
        first, second = a.get(name), b.get(name)
        if first == second:
            continue
        if first is None or second is None:
            lines.append(f"{name}: only in {'the second' if first is None else 'the first'}")
            continue
        what = [f"{first['count']:,} vs {second['count']:,}"] if first["count"] != second["count"] else []
        for props, other, side in ((first, second, "first"), (second, first, "second")):
            only = sorted(set(props["properties"]) - set(other["properties"]))
            if only:
                what.append(f"properties only in the {side}: {', '.join(only)}")
        lines.append(f"{name}: " + "; ".join(what))
    return lines


# The contenders: the baseline, persona, and persona writing every row again (what leaving out the rows
# the graph holds earns); persona's flags per contender.
PERSONA_CONTENDERS: dict[str, tuple[str, ...]] = {"persona": (), "persona_every_row": ("--write-unchanged",)}
CONTENDERS = ("load_csv", *PERSONA_CONTENDERS)


def load_with_persona(
    source: Path, local: LocalNeo4j, batch_size: int, workdir: Path, *flags: str
) -> dict[str, Any]:
    """``persona load FILE`` in a subprocess, as a user runs it; the file's time from its report (Python's
    start and the suppression list's read are not in it)."""
    info = ConnectionInfo.of_local(local)
    workdir.mkdir(parents=True, exist_ok=True)
    report = workdir / "persona-report.json"
    env = {
        **os.environ,
        "NEO4J_URI": info.uri,
        "PERSONA_NEO4J_PASSWORD": info.password,
        "PERSONA_IDENTITY_SALT": SALT,
        "PERSONA_BATCH_SIZE": str(batch_size),
    }
    command = [sys.executable, "-m", "personagraph.cli.main", "load", str(source)]
    command += ["--rejects", str(workdir / "persona-rejects"), "--report-json", str(report), *flags]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise RuntimeError(f"persona load failed ({done.returncode}):\n{done.stderr[-3000:]}")
    (entry,) = json.loads(report.read_text())
    return {"rows": entry["read"], "seconds": entry["seconds"], "unchanged": entry.get("unchanged", 0)}


def load_with_load_csv(source: Path, local: LocalNeo4j) -> dict[str, Any]:
    """The baseline's statement for the file (bench/load_csv/<kind>.cypher), timed around the statement."""
    local.import_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, local.import_dir / source.name)
    text = (BASELINE_DIR / f"{source.stem}.cypher").read_text()
    params = {"url": f"file:///{source.name}", "year": dt.date.today().year, "salt": SALT}
    with store_of(local) as store, store.driver.session(database="neo4j") as session:
        started = time.perf_counter()
        session.run(text, params, source=f"load:{source.name}").consume()  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
    rows = sum(1 for _ in source.open(encoding="utf-8")) - 1
    return {"rows": rows, "seconds": round(seconds, 3)}


def run_side_by_side(
    delta: Path, servers: dict[str, LocalNeo4j], batch_size: int, workdir: Path
) -> dict[str, Any]:
    """Each delta file loaded by every contender, one after the other (who goes first rotates from file to
    file), each into its own Neo4j: a file's times are minutes apart at most, so a drift in the machine's
    speed (other work on it) moves them together instead of one contender's whole run."""
    runs: dict[str, Any] = {name: {"files": {}} for name in servers}
    kinds = [kind for kind in KINDS if (delta / f"{kind}.csv").exists()]
    names = list(servers)
    for index, kind in enumerate(kinds):
        source = delta / f"{kind}.csv"
        for name in names[index % len(names) :] + names[: index % len(names)]:
            if name == "load_csv":
                entry = load_with_load_csv(source, servers[name])
            else:
                flags = PERSONA_CONTENDERS[name]
                entry = load_with_persona(source, servers[name], batch_size, workdir / name, *flags)
            runs[name]["files"][kind] = entry
            log.info("%s %s: %s", kind, name, entry)
    for name, local in servers.items():
        runs[name]["total_seconds"] = round(sum(f["seconds"] for f in runs[name]["files"].values()), 2)
        runs[name]["shape"] = graph_shape(local)
    return runs


def rate(entry: dict[str, Any]) -> float:
    return entry["rows"] / entry["seconds"] if entry["seconds"] else float("inf")


def markdown(result: dict[str, Any]) -> str:
    runs = result["runs"]
    base, ours = runs["load_csv"], runs["persona"]
    lines = [
        f"# Incremental-load benchmark ({result['users']:,} users, seed {result['seed']}, {result['date']})",
        "",
        f"Machine: {result['machine']}. Each contender: a fresh local Neo4j holding the base (half of the "
        "data, loaded its own way, untimed) and restarted, then the delta files (half their rows new) loaded "
        "and timed per file. Baseline: `load_csv` (hand-written LOAD CSV ... CALL {} IN TRANSACTIONS OF 1000 ROWS, "
        "bench/load_csv/, each statement writing the graph persona's statement for the file writes: the users' "
        "consent history, each user's event hours; compared after the delta below). "
        f"`persona load` with batch size {result['batch_size']}. Ratio = persona rows/s "
        "÷ load_csv rows/s; targets: >= 1.0 on every file, >= 40,000 rows/s on ties.",
        "",
        "The contenders ran side by side: each file was loaded by one contender after the other, each into its "
        "own Neo4j (all three running throughout), who goes first rotating from file to file, so that a drift "
        "in the machine's speed moves a file's times together (in earlier runs, one contender's whole run "
        "after the other's, the baseline's own speed varied up to 1.6x between runs).",
        "",
        "`persona` leaves out the rows the graph holds as they are (`unchanged`, of the delta rows); "
        "`persona, every row` is `persona load --write-unchanged` on the same base, for comparison.",
        "",
        "| file | delta rows | unchanged | load_csv rows/s | persona rows/s | persona / load_csv "
        "| persona, every row: rows/s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    every = runs.get("persona_every_row", {"files": {}})
    for kind, entry in base["files"].items():
        mine = ours["files"].get(kind)
        if mine is None:
            continue
        other = every["files"].get(kind)
        written = f"{rate(other):,.0f} | {rate(other) / rate(entry):.2f}" if other else "- | -"
        lines.append(
            f"| {kind} | {entry['rows']:,} | {mine.get('unchanged', 0):,} | {rate(entry):,.0f} | "
            f"{rate(mine):,.0f} | {rate(mine) / rate(entry):.2f} | {written} |"
        )
    lines += [
        "",
        f"The files' times added up: load_csv {base['total_seconds']:.1f} s, persona {ours['total_seconds']:.1f} s "
        "(persona's from its report: not starting Python or reading the suppression list).",
        "",
    ]
    for name, run in runs.items():
        if name == "load_csv" or "shape" not in run:
            continue
        differences = shape_differences(base["shape"], run["shape"])
        shared = base["shape"].keys() & run["shape"].keys()
        counts_only = base["shape"].keys() == run["shape"].keys() and all(
            base["shape"][key]["properties"] == run["shape"][key]["properties"] for key in shared
        )
        worst = max(
            (
                abs(base["shape"][key]["count"] - run["shape"][key]["count"])
                / max(base["shape"][key]["count"], 1)
                for key in shared
            ),
            default=0.0,
        )
        verdict = (
            "the same."
            if not differences
            else f"the same labels, types and property names; counts differ by {worst:.2%} at most (the baseline's "
            "statements check less than persona's validation, so some rows persona rejects load there):"
            if counts_only
            else "they differ:"
        )
        lines.append(
            f"Graphs after the delta, load_csv against {name} (count and property names per label and "
            f"relationship type): {verdict}"
        )
        lines += [f"- {line}" for line in differences]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch-size", type=int, default=int(os.environ.get("PERSONA_BATCH_SIZE", 5000)))
    parser.add_argument("--only", choices=CONTENDERS, help="run one contender (to iterate)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    data = dataset(args.users, args.seed)
    base, delta = split_incremental(data, data.parent / f"{data.name}-incremental")
    chosen = [name for name in CONTENDERS if args.only in (None, name)]
    with tempfile.TemporaryDirectory(prefix="persona-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        servers = {
            name: stack.enter_context(
                loaded_base(workdir, f"neo4j-{name}", base, by_load_csv=name == "load_csv")
            )
            for name in chosen
        }
        runs = run_side_by_side(delta, servers, args.batch_size, workdir)
    if args.only:
        return 0
    result = {
        "users": args.users,
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

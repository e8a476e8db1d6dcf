"""A load killed or interrupted by a Neo4j restart, then re-run, ends exactly like one clean load."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from personagraph.graph.server.connection import ConnectionInfo
from personagraph.graph.server.local import LocalNeo4j
from personagraph.graph.store import GraphStore
from personagraph.loaders.pipeline import LoadOptions, load_dataset

# Set from the clock when a row gives none (consent changes: when the load recorded them).
VOLATILE = {"assignedAt", "resolvedAt", "recordedAt", "consentUpdatedAt"}


def write_dataset(folder: Path, *, users: int = 300, seed: int = 7) -> Path:
    """A few thousand rows across kinds, with event aggregates that a double count would change."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    (folder / "channels.csv").write_text("channel_id,kind\nweb,online\napp,online\n")
    skus = [f"P{i:03d}" for i in range(40)]
    (folder / "products.csv").write_text(
        "sku,price\n" + "".join(f"{s},{rng.randint(5, 500)}\n" for s in skus)
    )
    ids = [f"u{i:04d}" for i in range(users)]
    (folder / "users.csv").write_text(
        "user_id,birth_year,acquired_via\n" + "".join(f"{u},{rng.randint(1960, 2005)},web\n" for u in ids)
    )
    lines = ["order_id,user_id,sku,ordered_at,quantity"]
    for n in range(users * 3):
        lines.append(
            f"o{n // 2},{ids[(n // 2) % users]},{rng.choice(skus)},2025-01-{1 + n % 28:02d},{1 + n % 3}"
        )
    (folder / "orders.csv").write_text("\n".join(lines) + "\n")
    events = ["user_id,kind,at,target"]  # no event ids: the content is the key
    for n in range(users * 25):
        kind = rng.choice(["view", "view", "click", "like", "search"])
        target = rng.choice(["bike", "tea pot", "helmet"]) if kind == "search" else rng.choice(skus)
        events.append(
            f"{rng.choice(ids)},{kind},2025-02-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z,{target}"
        )
    (folder / "events.csv").write_text("\n".join(events) + "\n")
    ties = ["src_user_id,dst_user_id,kind"]
    for _ in range(users * 4):
        a, b = rng.sample(ids, 2)
        ties.append(f"{a},{b},{rng.choice(['friend', 'follows', 'referred'])}")
    (folder / "ties.csv").write_text("\n".join(ties) + "\n")
    return folder


def snapshot(store: GraphStore) -> tuple[list[str], list[str]]:
    """Every node and edge with its properties, as sorted text, so two graphs compare exactly."""

    def clean(props: dict[str, Any]) -> str:
        volatile = VOLATILE | ({"at"} if "recordedAt" in props else set())  # a ConsentChange's clock time
        kept = {k: (sorted(v) if k == "eventKeys" else v) for k, v in props.items() if k not in volatile}
        return repr(sorted((k, str(v)) for k, v in kept.items()))

    nodes, _, _ = store.driver.execute_query(
        "MATCH (n) WHERE NOT n:SchemaMigration RETURN labels(n) AS l, properties(n) AS p"
    )
    edges, _, _ = store.driver.execute_query(
        "MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(a) AS a, properties(b) AS b, properties(r) AS p"
    )
    return (
        sorted(f"{r['l']} {clean(r['p'])}" for r in nodes),
        sorted(f"{r['t']} {clean(r['a'])} {clean(r['b'])} {clean(r['p'])}" for r in edges),
    )


def _count(store: GraphStore, query: str) -> int:
    records, _, _ = store.driver.execute_query(query)
    return int(records[0][0])


def _clean_load(store: GraphStore, dataset: Path, tmp_path: Path) -> tuple[list[str], list[str]]:
    store.run_autocommit("server/write/wipe_data")
    reports = load_dataset(store, dataset, options=LoadOptions(batch_size=500, rejects_dir=tmp_path / "r0"))
    assert all(r.rejected == 0 for r in reports)
    return snapshot(store)


def test_loader_killed_mid_run_then_rerun_equals_clean_load(
    store: GraphStore, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    dataset = write_dataset(tmp_path / "data")
    command = [
        sys.executable,
        "-m",
        "personagraph.cli.main",
        "load",
        str(dataset),
        "--batch-size",
        "100",
        "--rejects",
        str(tmp_path / "r1"),
    ]
    env = {**os.environ, **neo4j_env}
    loader = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _count(store, "MATCH ()-[r:VIEWED|CLICKED|LIKED|SEARCHED]->() RETURN count(r)") == 0:
        assert loader.poll() is None, "the loader finished before it could be killed; make the data bigger"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    loader.send_signal(signal.SIGKILL)  # mid-way through the events file
    loader.wait()
    partial = _count(store, "MATCH ()-[r]->() RETURN count(r)")
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    after_kill = snapshot(store)
    assert partial < len(after_kill[1])  # the kill really left work undone
    assert after_kill == _clean_load(store, dataset, tmp_path)


def test_neo4j_restart_mid_load_then_rerun_equals_clean_load(
    store: GraphStore, local_server: LocalNeo4j, neo4j_connection: ConnectionInfo, tmp_path: Path
) -> None:
    dataset = write_dataset(tmp_path / "data", seed=11)
    failure: list[BaseException] = []

    def run_load() -> None:
        try:
            load_dataset(store, dataset, options=LoadOptions(batch_size=100, rejects_dir=tmp_path / "r1"))
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run_load)
    worker.start()
    deadline = time.monotonic() + 120
    while _count(store, "MATCH ()-[r:VIEWED|CLICKED|LIKED|SEARCHED]->() RETURN count(r)") == 0:
        assert worker.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    local_server.stop()
    local_server.start()
    worker.join(timeout=300)
    assert not worker.is_alive()
    if failure:  # the driver may give up while Neo4j is down; running the load again finishes it
        load_dataset(store, dataset, options=LoadOptions(batch_size=100, rejects_dir=tmp_path / "r2"))
    after_restart = snapshot(store)
    assert after_restart == _clean_load(store, dataset, tmp_path)


def test_two_loaders_on_overlapping_files_at_once_equal_one_clean_load(
    store: GraphStore, tmp_path: Path
) -> None:
    """Both loaders write the same users, products, orders, events and ties at the same time (the
    second reads its files in another batch size, so their batches interleave differently)."""
    dataset = write_dataset(tmp_path / "data", users=200, seed=5)
    failures: list[BaseException] = []

    def run_load(batch_size: int, rejects: str) -> None:
        try:
            reports = load_dataset(
                store, dataset, options=LoadOptions(batch_size=batch_size, rejects_dir=tmp_path / rejects)
            )
            assert all(r.rejected == 0 for r in reports), [(r.path.name, r.rejected) for r in reports]
        except BaseException as exc:
            failures.append(exc)

    loaders = [threading.Thread(target=run_load, args=(size, f"r{size}")) for size in (70, 130)]
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join(timeout=600)
    assert not failures, failures
    together = snapshot(store)
    clean = _clean_load(store, dataset, tmp_path)
    for mine, theirs in zip(together, clean, strict=True):  # nodes, then edges
        extra, missing = Counter(mine) - Counter(theirs), Counter(theirs) - Counter(mine)
        assert not extra and not missing, (list(extra)[:5], list(missing)[:5])


def test_analytics_during_writes_finish_and_stamp_their_run(store: GraphStore, tmp_path: Path) -> None:
    """Influence runs while a loader adds ties: it finishes, and every score it wrote carries its run."""
    from personagraph.graph.analytics.influence import run_influence

    dataset = write_dataset(tmp_path / "data", users=300, seed=9)
    ties = dataset / "ties.csv"
    held = tmp_path / "later"
    held.mkdir()
    ties.rename(held / "ties.csv")
    load_dataset(store, dataset, options=LoadOptions(batch_size=500, rejects_dir=tmp_path / "r0"))
    failures: list[BaseException] = []

    def load_ties() -> None:
        try:
            load_dataset(store, held, options=LoadOptions(batch_size=50, rejects_dir=tmp_path / "r1"))
        except BaseException as exc:
            failures.append(exc)

    writer = threading.Thread(target=load_ties)
    writer.start()
    reports = [run_influence(store) for _ in range(3)]  # some before, some during, some after ties land
    writer.join(timeout=300)
    assert not failures, failures
    runs, _, _ = store.driver.execute_query(
        "MATCH (r:AnalyticsRun {kind: 'influence'}) RETURN r.runId AS id, r.status AS status"
    )
    assert {r["id"]: r["status"] for r in runs} == {r.run_id: "done" for r in reports}
    stamped, _, _ = store.driver.execute_query(
        "MATCH (u:User) RETURN collect(DISTINCT u.influenceRunId) AS runs, count(u) AS users, "
        "count(u.influence) AS scored"
    )
    assert stamped[0]["runs"] == [reports[-1].run_id]  # the last run wrote every user, in one stamp
    assert stamped[0]["scored"] == stamped[0]["users"]

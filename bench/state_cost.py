"""The cost of one token-bucket step (``RateLimiter.acquire``, ``CountBudget.spend``) in memory and in
the SQLite state file every worker shares (api/shared_state.py), on this machine's disk: one process
alone, then ``--processes`` processes taking from one file at once (the workers of a busy server), with
each step's latency (a step waiting on another process's write lock sleeps in SQLite's busy handler).

    .venv/bin/python bench/state_cost.py [--n 20000] [--processes 2] [--dir /path/on/the/data/disk]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from personagraph.api.counts import CountBudget
from personagraph.api.rate_limiter import Buckets, MemoryBuckets, RateLimiter
from personagraph.api.shared_state import SqliteBuckets


def per_call_us(step: Callable[[int], object], n: int) -> float:
    for i in range(min(n, 1000)):  # warm up: connections, pages in cache
        step(i)
    started = time.perf_counter()
    for i in range(n):
        step(i)
    return (time.perf_counter() - started) / n * 1e6


def costs(store: Buckets, n: int) -> list[float]:
    """Microseconds per call: acquire over 100 keys, wait, a new question's count, a repeated one."""
    limiter = RateLimiter(10**9, buckets=store)
    budget = CountBudget(10**9, buckets=store)
    return [
        per_call_us(lambda i: limiter.acquire(f"key-{i % 100}"), n),
        per_call_us(lambda i: limiter.wait(f"key-{i % 100}"), n),
        per_call_us(lambda i: budget.spend("key", ("audience", f"q{i}")), n),
        per_call_us(lambda i: budget.spend("key", ("audience", f"q{i % 100}")), n),
    ]


def contended(path: str, me: int, n: int, ready: Any) -> list[float]:
    """In one of several processes: ``n`` acquires on one file, each timed (microseconds)."""
    limiter = RateLimiter(10**9, buckets=SqliteBuckets(Path(path)))
    ready.wait()
    took = []
    for i in range(n):
        started = time.perf_counter()
        limiter.acquire(f"key-{me}-{i % 100}")
        took.append((time.perf_counter() - started) * 1e6)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        stores: dict[str, Buckets] = {
            "memory": MemoryBuckets(),
            "sqlite": SqliteBuckets(Path(folder) / "a.sqlite3"),
        }
        print("One process (microseconds a call):\n")
        print("| store | acquire(), 100 keys | wait() | CountBudget.spend, new question | repeat |")
        print("|---|---|---|---|---|")
        for label, store in stores.items():
            print(f"| {label} | " + " | ".join(f"{us:.1f}" for us in costs(store, args.n)) + " |")

        path = str(Path(folder) / "b.sqlite3")
        SqliteBuckets(Path(path))
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager:
            ready = manager.Barrier(args.processes)
            with context.Pool(args.processes) as pool:
                started = time.perf_counter()
                pending = [
                    pool.apply_async(contended, (path, me, args.n, ready)) for me in range(args.processes)
                ]
                took = [us for p in pending for us in p.get()]
                wall = time.perf_counter() - started
        took.sort()

        def pct(q: float) -> float:
            return took[min(len(took) - 1, int(q * len(took)))]

        print(f"\n{args.processes} processes, {args.n} acquires each on one file (microseconds a call):\n")
        print("| mean | p50 | p99 | p99.9 | max | over 1 ms | acquires/s, all processes |")
        print("|---|---|---|---|---|---|---|")
        slow = sum(us > 1000 for us in took) / len(took)
        print(
            f"| {statistics.fmean(took):.1f} | {pct(0.5):.1f} | {pct(0.99):.1f} | {pct(0.999):.1f} | "
            f"{took[-1]:.0f} | {slow:.2%} | {len(took) / wall:,.0f} (with start-up) |"
        )


if __name__ == "__main__":
    main()

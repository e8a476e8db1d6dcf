"""The cost of one token-bucket step (``RateLimiter.acquire``, ``CountBudget.spend``) in memory and in
the SQLite state file every worker shares (api/shared_state.py), one process, on this machine's disk.

    .venv/bin/python bench/state_cost.py [--n 20000] [--dir /path/on/the/data/disk]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        stores: dict[str, Buckets] = {
            "memory": MemoryBuckets(),
            "sqlite": SqliteBuckets(Path(folder) / "api-state.sqlite3"),
        }
        print(
            "| store | acquire(), 100 keys (us) | wait() (us) | CountBudget.spend, new question (us) | repeat (us) |"
        )
        print("|---|---|---|---|---|")
        for label, store in stores.items():
            print(f"| {label} | " + " | ".join(f"{us:.1f}" for us in costs(store, args.n)) + " |")


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


if __name__ == "__main__":
    main()

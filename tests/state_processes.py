"""Child processes for tests/test_workers.py: they spend one SQLite state file's buckets at once
(spawned, as uvicorn starts its workers; this module imports little so they start fast)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from personagraph.api.counts import CountBudget
from personagraph.api.rate_limiter import RateLimiter
from personagraph.api.shared_state import SqliteBuckets


def acquire_many(path: str, capacity: int, tries: int, ready: Any) -> int:
    """``tries`` acquires of key "k" (a bucket of ``capacity``, no refill to speak of) once every process
    is ready; how many were granted."""
    limiter = RateLimiter(capacity, period_s=1e9, buckets=SqliteBuckets(Path(path)))
    ready.wait()
    return sum(limiter.acquire("k") == 0 for _ in range(tries))


def spend_counts(path: str, me: int, budget: int, ready: Any) -> tuple[list[str], int]:
    """Ten questions every process asks, then ten of its own: those answered, and how many refusals
    this process would report (the first of a minute, across processes)."""
    counts = CountBudget(budget, buckets=SqliteBuckets(Path(path)))
    ready.wait()
    asked = [f"shared-{i}" for i in range(10)] + [f"own-{me}-{i}" for i in range(10)]
    answered = [q for q in asked if counts.spend("k", ("audience", q)) == 0]
    reported = sum(counts.first_refusal("k") for q in asked if counts.spend("k", ("audience", q)) > 0)
    return answered, reported


def in_processes(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    """``target(*a, ready)`` for each ``a`` in its own spawned process, all starting together."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        ready = manager.Barrier(len(args))
        with context.Pool(len(args)) as pool:
            pending = [pool.apply_async(target, (*a, ready)) for a in args]
            return [p.get(timeout=120) for p in pending]

"""AnalyticsRun bookkeeping: parameters, input sizes, timings and counts of every run."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from personagraph.graph.store import GraphStore

log = logging.getLogger(__name__)


@dataclass
class AnalyticsRun:
    """One run of one analysis; pass it to write-back so scores carry ``run_id`` and ``started_at``."""

    run_id: str
    kind: str
    parameters: dict[str, Any]
    started_at: datetime
    input_sizes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time one phase (projection, compute, write); phases of the same name add up."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 4)

    @property
    def stamp(self) -> dict[str, Any]:
        """The parameters every write-back statement takes to stamp its scores."""
        return {"runId": self.run_id, "computedAt": self.started_at}


@contextmanager
def analytics_run(store: GraphStore, kind: str, parameters: dict[str, Any]) -> Iterator[AnalyticsRun]:
    """Record the run in Neo4j as running, then done (or failed, with the error) when the block ends."""
    run = AnalyticsRun(
        run_id=f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}",
        kind=kind,
        parameters=parameters,
        started_at=datetime.now(UTC),
    )
    store.write(
        "analytics/write/create_run",
        runId=run.run_id,
        kind=kind,
        parameters=json.dumps(parameters, sort_keys=True, default=str),
        startedAt=run.started_at,
    )
    log.info("%s run %s started", kind, run.run_id)
    try:
        yield run
    except BaseException as exc:
        _finish(store, run, "failed", f"{type(exc).__name__}: {exc}")
        raise
    _finish(store, run, "done", None)
    log.info("%s run %s done in %.1fs", kind, run.run_id, sum(run.timings.values()))


def _finish(store: GraphStore, run: AnalyticsRun, status: str, error: str | None) -> None:
    store.write(
        "analytics/write/finish_run",
        runId=run.run_id,
        status=status,
        inputSizes=json.dumps(run.input_sizes),
        timings=json.dumps(run.timings),
        counts=json.dumps(run.counts),
        error=error,
        finishedAt=datetime.now(UTC),
    )

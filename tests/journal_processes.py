"""Child processes for tests/test_events_journal.py: collectors appending to one journal at once, and
folding workers taking its fold lock (spawned, as uvicorn starts its workers)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from personagraph.graph.events.envelope import Envelope, parse_event
from personagraph.graph.events.journal import FoldLock, SqliteJournal

RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)


def view(message_id: str, user_id: str = "u1", sku: str = "p1") -> Envelope:
    """A track Product Viewed event, accepted."""
    raw = {
        "messageId": message_id,
        "type": "track",
        "event": "Product Viewed",
        "userId": user_id,
        "properties": {"sku": sku},
    }
    return parse_event(raw, received_at=RECEIVED)


def append_views(path: str, message_ids: list[str], per_call: int, ready: Any) -> list[tuple[str, int, bool]]:
    """Append a view per messageId, ``per_call`` in each append, once every process is ready:
    (messageId, offset, duplicate) of each."""
    journal = SqliteJournal(Path(path))
    envelopes = [view(m) for m in message_ids]
    ready.wait()
    results = []
    for start in range(0, len(envelopes), per_call):
        batch = envelopes[start : start + per_call]
        for appended in journal.append(batch):
            assert appended.offset is not None
            results.append((batch[appended.index].message_id, appended.offset, appended.duplicate))
    journal.close()
    return results


def try_fold_lock(path: str) -> bool:
    """Whether this process can take the journal's fold lock (released again at once)."""
    lock = FoldLock(Path(path))
    taken = lock.try_acquire()
    lock.release()
    return taken


def hold_fold_lock(path: str, holding: Any) -> None:
    """Take the fold lock, say so, and keep it until this process is killed."""
    lock = FoldLock(Path(path))
    assert lock.try_acquire()
    holding.set()
    threading.Event().wait()  # never set: the parent kills this process


def open_fresh_journals(folder: str, me: int, count: int, ready: Any) -> int:
    """Open ``count`` new journals (events-0 ... in ``folder``) and append to each, as the other processes
    do with the same ones (uvicorn's workers at start): how many it did (a refusal raises)."""
    ready.wait()
    opened = 0
    for i in range(count):
        journal = SqliteJournal(Path(folder) / f"events-{i}.sqlite3")
        journal.append([view(f"p{me}-{i}")])
        journal.close()
        opened += 1
    return opened

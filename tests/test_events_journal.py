"""Issue 18, the collector's journal (graph/events/journal.py): appends durable and deduplicated by
messageId, read in offset order, outcomes, pruning, several processes appending at once, and the fold
lock across processes, released when its holder is killed. No Neo4j; real processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from personagraph.graph.events.journal import (
    Appended,
    FoldLock,
    Journal,
    Outcome,
    SqliteJournal,
    open_journal,
)
from personagraph.graph.settings import Settings
from tests.journal_processes import (
    append_views,
    hold_fold_lock,
    open_fresh_journals,
    try_fold_lock,
    view,
)
from tests.state_processes import in_processes

DAY = 86_400.0


@pytest.fixture
def journal(tmp_path: Path) -> SqliteJournal:
    return SqliteJournal(tmp_path / "events.sqlite3")


def test_append_gives_offsets_in_order_and_read_returns_the_envelopes(journal: SqliteJournal) -> None:
    assert journal.last_offset() == 0 and journal.read(0, 10) == []
    envelopes = [view("a"), view("b", user_id="u2"), view("c", sku="p3")]
    assert journal.append(envelopes) == [Appended(0, 1, False), Appended(1, 2, False), Appended(2, 3, False)]
    assert journal.append([]) == []
    entries = journal.read(0, 10)
    assert [(e.offset, e.envelope) for e in entries] == list(zip([1, 2, 3], envelopes, strict=True))
    assert journal.last_offset() == 3


def test_duplicates_in_the_log_or_twice_in_one_call_are_flagged_with_the_first_offset(
    journal: SqliteJournal,
) -> None:
    assert journal.append([view("a"), view("b")]) == [Appended(0, 1, False), Appended(1, 2, False)]
    again = journal.append([view("b"), view("c"), view("c"), view("a", user_id="someone else")])
    assert again == [Appended(0, 2, True), Appended(1, 3, False), Appended(2, 3, True), Appended(3, 1, True)]
    assert [e.envelope.message_id for e in journal.read(0, 10)] == ["a", "b", "c"]
    assert journal.read(0, 10)[0].envelope.user_id == "u1"  # the first one stays
    assert journal.last_offset() == 3  # a duplicate uses up no offset


def test_appends_from_many_threads_at_once_are_group_committed_without_loss_or_doubles(
    journal: SqliteJournal,
) -> None:
    """Threads that append while another commits share the next transaction; each still gets its own
    answer: its envelopes' offsets, or the duplicate flag when another thread's call had the id first."""
    commits = 0
    write = journal._file.write

    def counted_write():  # type: ignore[no-untyped-def]
        nonlocal commits
        commits += 1
        return write()

    journal._file.write = counted_write  # type: ignore[method-assign]
    start = threading.Barrier(16)

    def one(i: int) -> list[Appended]:
        start.wait()
        return journal.append([view(f"t{i}"), view(f"shared-{i % 4}")])

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(16)))
    firsts = [a for answer in answers for a in answer if not a.duplicate]
    assert sorted(a.offset for a in firsts) == list(range(1, 21))  # 16 own + 4 shared ids, each once
    for i, answer in enumerate(answers):
        assert [a.index for a in answer] == [0, 1]
        assert journal.read(answer[0].offset - 1, 1)[0].envelope.message_id == f"t{i}"
        assert journal.read(answer[1].offset - 1, 1)[0].envelope.message_id == f"shared-{i % 4}"
    assert sum(a.duplicate for answer in answers for a in answer) == 12
    assert commits < 16  # at least two calls shared a transaction


def test_a_failed_group_commit_reaches_every_caller_in_it_and_the_next_append_works(
    journal: SqliteJournal,
) -> None:
    real = journal._insert

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("disk I/O error")

    journal._insert = fail  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError):
        journal.append([view("lost")])
    journal._insert = real  # type: ignore[method-assign]
    assert journal.append([view("kept")]) == [Appended(0, 1, False)]
    assert [e.envelope.message_id for e in journal.read(0, 10)] == ["kept"]


def test_entries_are_durable_across_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "events.sqlite3"
    first = SqliteJournal(path)
    first.append([view("a"), view("b")])
    first.record_outcomes([Outcome(1, "folded", {"tags": ["t1"]})])
    log_id = first.log_id
    first.close()
    again = SqliteJournal(path)
    assert again.log_id == log_id and len(log_id) == 32
    assert [(e.offset, e.envelope.message_id) for e in again.read(0, 10)] == [(1, "a"), (2, "b")]
    assert again.outcome(1) == Outcome(1, "folded", {"tags": ["t1"]})
    assert again.append([view("a"), view("c")]) == [Appended(0, 1, True), Appended(1, 3, False)]
    assert SqliteJournal(tmp_path / "other.sqlite3").log_id != log_id


def test_the_file_is_private_and_synchronous_full_in_wal_mode(journal: SqliteJournal) -> None:
    journal.append([view("a")])
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    db = journal._file.connection()
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: each commit fsyncs the log


def test_read_pages_by_offset(journal: SqliteJournal) -> None:
    journal.append([view(f"m{i}") for i in range(25)])
    pages, after = [], 0
    while entries := journal.read(after, 10):
        pages.append([e.offset for e in entries])
        after = entries[-1].offset
    assert pages == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert journal.read(25, 10) == [] and journal.read(3, 2)[0].offset == 4


def test_outcomes_are_none_while_pending_then_what_was_recorded(journal: SqliteJournal) -> None:
    journal.append([view("a"), view("b"), view("c")])
    assert journal.outcome(1) is None and journal.outcomes([1, 2, 3]) == {}
    journal.record_outcomes(
        [Outcome(1, "folded", {"new": True}), Outcome(3, "rejected", {"reason": "userId: no user 'u1'"})]
    )
    assert journal.outcome(1) == Outcome(1, "folded", {"new": True})
    assert journal.outcome(2) is None and journal.outcome(99) is None
    assert journal.outcomes([3, 2, 1, 1, 99]) == {
        1: Outcome(1, "folded", {"new": True}),
        3: Outcome(3, "rejected", {"reason": "userId: no user 'u1'"}),
    }
    journal.record_outcomes([Outcome(1, "rejected", {})])  # recorded again: the last one holds
    assert journal.outcome(1) == Outcome(1, "rejected", {})


def test_outcomes_of_many_offsets_at_once(journal: SqliteJournal) -> None:
    journal.append([view(f"m{i}") for i in range(1200)])
    journal.record_outcomes([Outcome(o, "folded", {}) for o in range(1, 1201, 2)])
    assert sorted(journal.outcomes(list(range(1, 1201)))) == list(range(1, 1201, 2))


def test_prune_deletes_folded_old_entries_and_keeps_pending_and_recent_ones(journal: SqliteJournal) -> None:
    now = 1_800_000_000.0
    journal.clock = lambda: now - 10 * DAY
    journal.append([view("old-1"), view("old-2"), view("old-3")])  # offsets 1-3, ten days ago
    journal.clock = lambda: now - DAY
    journal.append([view("new-4"), view("new-5")])  # offsets 4-5, yesterday
    week_ago = datetime.fromtimestamp(now - 7 * DAY, UTC)
    # Folded through 2: offset 3 is old but pending, 4 is folded but recent.
    assert journal.prune(folded_through=4, older_than=datetime.fromtimestamp(now - 11 * DAY, UTC)) == 0
    assert journal.prune(folded_through=2, older_than=week_ago) == 2
    assert [e.offset for e in journal.read(0, 10)] == [3, 4, 5]
    assert journal.prune(folded_through=5, older_than=week_ago) == 1
    assert [e.offset for e in journal.read(0, 10)] == [4, 5]
    journal.clock = lambda: now
    # Inside the window a messageId is still remembered; a pruned one is not (folding is idempotent).
    assert journal.append([view("new-4"), view("old-1")]) == [Appended(0, 4, True), Appended(1, 6, False)]
    assert journal.prune(folded_through=10, older_than=datetime.fromtimestamp(now + 1, UTC)) == 3
    assert journal.read(0, 10) == [] and journal.last_offset() == 6  # offsets are never given again
    assert journal.append([view("next")]) == [Appended(0, 7, False)]


def test_open_journal_uses_the_settings_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERSONA_EVENT_LOG_PATH", raising=False)
    monkeypatch.delenv("PERSONA_EVENT_DEDUPE_DAYS", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.event_log_file == tmp_path / "events.sqlite3" and settings.event_dedupe_days == 7
    chosen = tmp_path / "chosen" / "log.sqlite3"
    monkeypatch.setenv("PERSONA_EVENT_LOG_PATH", str(chosen))
    monkeypatch.setenv("PERSONA_EVENT_DEDUPE_DAYS", "0.5")
    settings = Settings(data_dir=tmp_path)
    journal: Journal = open_journal(settings)
    assert settings.event_dedupe_days == 0.5 and chosen.exists()
    assert journal.append([view("a")]) == [Appended(0, 1, False)]
    journal.close()


# several processes ---------------------------------------------------------------------------------


def test_two_processes_appending_at_once_lose_nothing_and_share_no_offset(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    shared = [f"shared-{i}" for i in range(50)]  # both send these: each is stored once
    args = [
        (str(path), [f"p{me}-{i}" for i in range(200)] + shared, per_call)
        for me, per_call in ((0, 1), (1, 10))
    ]
    results = [r for process in in_processes(append_views, args) for r in process]
    appended = [(m, o) for m, o, duplicate in results if not duplicate]
    assert len(appended) == 450 and len({o for _, o in appended}) == 450  # unique offsets
    entries = SqliteJournal(path).read(0, 1000)
    assert sorted(appended, key=lambda a: a[1]) == [(e.envelope.message_id, e.offset) for e in entries]
    assert [e.offset for e in entries] == list(range(1, 451))
    duplicates = [(m, o) for m, o, duplicate in results if duplicate]
    assert sorted(m for m, _ in duplicates) == sorted(shared)  # each shared one: once new, once a duplicate
    assert set(duplicates) <= set(appended)  # a duplicate names the offset the other process got


def test_processes_opening_a_new_journal_at_once_all_open_it(tmp_path: Path) -> None:
    """uvicorn starts its workers together, each opening the event log: the first to turn a new file to
    WAL holds a lock the others must wait for, not fail on ("database is locked" stopped a start)."""
    assert in_processes(open_fresh_journals, [(str(tmp_path), me, 100) for me in range(4)]) == [100] * 4
    assert all(SqliteJournal(tmp_path / f"events-{i}.sqlite3").last_offset() == 4 for i in range(100))


def test_the_fold_lock_is_exclusive_within_and_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    first, second = FoldLock(path), FoldLock(path)
    assert first.path == tmp_path / "events.sqlite3.fold.lock"
    assert first.try_acquire() and first.held and first.try_acquire()
    assert not second.try_acquire() and not second.held
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        assert pool.apply(try_fold_lock, (str(path),)) is False
        first.release()
        first.release()  # releasing twice is harmless
        assert pool.apply(try_fold_lock, (str(path),)) is True
    assert second.try_acquire()
    second.release()


def test_the_fold_lock_is_released_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    context = multiprocessing.get_context("spawn")
    holding = context.Event()
    holder = context.Process(target=hold_fold_lock, args=(str(path), holding), daemon=True)
    holder.start()
    try:
        assert holding.wait(120), "the holder never took the lock"
        lock = FoldLock(path)
        assert not lock.try_acquire()
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(120)
        assert holder.exitcode == -signal.SIGKILL
        assert lock.try_acquire()
        lock.release()
    finally:
        if holder.is_alive():
            holder.kill()
            holder.join()


def test_an_append_is_durable_in_another_process_once_it_returns(tmp_path: Path) -> None:
    """What one worker appended, another (a folding worker) reads at once."""
    path = tmp_path / "events.sqlite3"
    SqliteJournal(path).append([view("a"), view("b")])
    args = [(str(path), ["b", "c"], 2)]
    assert in_processes(append_views, args) == [[("b", 2, True), ("c", 3, False)]]
    assert [e.envelope.message_id for e in SqliteJournal(path).read(0, 10)] == ["a", "b", "c"]

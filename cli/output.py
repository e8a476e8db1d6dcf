"""Output for people and for scripts: data to stdout, logs and progress to stderr, nothing clipped when piped.

On a terminal rich renders at the terminal's width, with live progress lines. When the output is a file or
a pipe (a script, `| less`, `> out.txt`, `make demo > demo.log`), a console is ``PIPE_WIDTH`` wide, so a
table keeps its natural width and a long line is not wrapped (rich would otherwise use 80 columns, or the
width of a terminal the input comes from); logs are plain lines and load progress is one line per file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, ConsoleDimensions
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from personagraph.loaders.pipeline import Tally

PIPE_WIDTH = 10_000  # columns of a console writing to a file or a pipe: wider than any table we print


class CliConsole(Console):
    """A rich Console that is as wide as the terminal on a terminal, and ``PIPE_WIDTH`` wide otherwise.

    ``is_terminal`` is asked at each print, so one module-level console serves a terminal, a pipe and
    typer's CliRunner alike. A width given to the constructor still wins.
    """

    @property
    def size(self) -> ConsoleDimensions:
        measured = super().size
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(PIPE_WIDTH, measured.height)
        return measured

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


def log_handler(console: Console) -> logging.Handler:
    """Rich log lines on a terminal; plain ``LEVEL    message`` lines (no padding, no wrapping) otherwise."""
    if console.is_terminal:
        return RichHandler(console=console, show_path=False, show_time=False)
    handler = logging.StreamHandler(console.file)
    handler.setFormatter(logging.Formatter("%(levelname)-8s %(message)s"))
    return handler


FileProgress = Callable[[Path], Callable[[Tally], None]]

PROGRESS_COLUMNS = (
    TextColumn("{task.description:<16}"),
    TextColumn("{task.completed:>12,.0f} rows"),
    TextColumn("{task.fields[rate]:>10} rows/s"),
    TimeElapsedColumn(),
)

# `persona load`: a file's rows read (of its total, when known), rows/s, rejects so far, time, ETA.
LOAD_COLUMNS = (
    TextColumn("{task.description:<16}"),
    TextColumn("{task.fields[rows]:>26} rows"),
    TextColumn("{task.fields[rate]:>10} rows/s"),
    TextColumn("{task.fields[rejected]:>8} rejected"),
    TimeElapsedColumn(),
    TextColumn("ETA"),
    TimeRemainingColumn(),
)
LOG_EVERY_S = 10.0  # in a log, a line per file this often while it loads


def tally_line(name: str, tally: Tally, seconds: float, *, done: bool) -> str:
    """One line on a file's load: ``users.csv: 40,000 of 100,000 rows read (40%), 2 rejected, in 4.0 s
    (10,000 rows/s), ETA 6 s``; when done, ``users.csv: 100,000 rows read in 10.0 s (10,000 rows/s), 2
    rejected``."""
    rate = tally.read / max(seconds, 1e-6)
    if done or not tally.total:
        return (
            f"{name}: {tally.read:,} rows read in {seconds:.1f} s ({rate:,.0f} rows/s), "
            f"{tally.rejected:,} rejected"
        )
    share = tally.read / tally.total
    eta = (tally.total - tally.read) / rate if rate else float("inf")
    return (
        f"{name}: {tally.read:,} of {tally.total:,} rows read ({share:.0%}) in {seconds:.1f} s "
        f"({rate:,.0f} rows/s), {tally.rejected:,} rejected, ETA {eta:,.0f} s"
    )


@dataclass
class _LoggedFile:
    """A file loading while progress goes to a log: its last tally, when it began and last got a line."""

    name: str
    tally: Tally = field(default_factory=lambda: Tally(0, 0))
    started: float = field(default_factory=time.perf_counter)
    printed: float = field(default_factory=time.perf_counter)


@contextmanager
def file_progress(console: Console) -> Iterator[FileProgress]:
    """Where each file of `persona load` stands: ``for_file(path)`` gives the callback the loader tells.

    Rows are rows read, as the load report's "read" column counts them (rejected and duplicate rows
    included), with the file's total and an ETA once known (a plain CSV file is read whole first). Files
    load one after the other, so a file is done when the next one starts or the load ends: its time stops
    there. On a terminal each file has a live line; otherwise a file gets a line every LOG_EVERY_S while it
    loads and one when it is done (no progress-bar redraws in a log file).
    """
    if console.is_terminal:
        with Progress(*LOAD_COLUMNS, console=console) as progress:
            running: list[TaskID] = []

            def finish() -> None:
                for task in running:
                    progress.stop_task(task)  # freezes the file's elapsed time
                running.clear()

            def for_terminal(path: Path) -> Callable[[Tally], None]:
                finish()
                task = progress.add_task(path.name, total=None, rows="0", rate="-", rejected="0")
                running.append(task)
                started = time.perf_counter()

                def tell(tally: Tally) -> None:
                    rate = tally.read / max(time.perf_counter() - started, 1e-6)
                    rows = f"{tally.read:,}" + (f" of {tally.total:,}" if tally.total else "")
                    progress.update(
                        task,
                        completed=tally.read,
                        total=tally.total,
                        rows=rows,
                        rate=f"{rate:,.0f}",
                        rejected=f"{tally.rejected:,}",
                    )

                return tell

            try:
                yield for_terminal
            finally:
                finish()
        return

    current: list[_LoggedFile] = []  # the file being loaded

    def report() -> None:
        for file in current:
            line = tally_line(file.name, file.tally, time.perf_counter() - file.started, done=True)
            console.print(line, highlight=False, markup=False)
        current.clear()

    def for_log(path: Path) -> Callable[[Tally], None]:
        report()
        file = _LoggedFile(path.name)
        current.append(file)

        def tell(tally: Tally) -> None:
            file.tally = tally
            now = time.perf_counter()
            if now - file.printed >= LOG_EVERY_S:
                file.printed = now
                line = tally_line(file.name, tally, now - file.started, done=False)
                console.print(line, highlight=False, markup=False)

        return tell

    try:
        yield for_log
    finally:
        report()


def examples(*lines: str) -> str:
    """An Examples section for a command's ``--help`` (typer's epilog): one example a line, as written
    (rich markup such as ``[...]`` is escaped)."""
    return "Examples:\n\n" + "\n".join(escape(line) for line in lines)

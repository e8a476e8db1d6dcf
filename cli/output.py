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
from pathlib import Path

from rich.console import Console, ConsoleDimensions
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress, TaskID, TextColumn, TimeElapsedColumn

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


FileProgress = Callable[[Path], Callable[[int], None]]

PROGRESS_COLUMNS = (
    TextColumn("{task.description:<16}"),
    TextColumn("{task.completed:>12,.0f} rows"),
    TextColumn("{task.fields[rate]:>10} rows/s"),
    TimeElapsedColumn(),
)


@contextmanager
def file_progress(console: Console) -> Iterator[FileProgress]:
    """Rows read per file for `persona load`: ``for_file(path)`` gives the callback the loader advances.

    Rows are rows read, as the load report's "read" column counts them (rejected and duplicate rows
    included). Files load one after the other, so a file is done when the next one starts or the load
    ends: its time stops there. On a terminal each file has a live line; otherwise each file gets one
    line when it is done (no progress-bar redraws in a log file).
    """
    if console.is_terminal:
        with Progress(*PROGRESS_COLUMNS, console=console) as progress:
            running: list[TaskID] = []

            def finish() -> None:
                for task in running:
                    progress.stop_task(task)  # freezes the file's elapsed time
                running.clear()

            def for_terminal(path: Path) -> Callable[[int], None]:
                finish()
                task = progress.add_task(path.name, total=None, rate="-")
                running.append(task)
                started = time.perf_counter()

                def advance(rows: int) -> None:
                    progress.advance(task, rows)
                    done = progress.tasks[task].completed
                    progress.update(task, rate=f"{done / max(time.perf_counter() - started, 1e-6):,.0f}")

                return advance

            try:
                yield for_terminal
            finally:
                finish()
        return

    current: list[tuple[str, float, list[int]]] = []  # the file being loaded: name, start, [rows]

    def report() -> None:
        for name, started, rows in current:
            seconds = time.perf_counter() - started
            rate = rows[0] / max(seconds, 1e-6)
            console.print(
                f"{name}: {rows[0]:,} rows read in {seconds:.1f} s ({rate:,.0f} rows/s)",
                highlight=False,
                markup=False,
            )
        current.clear()

    def for_log(path: Path) -> Callable[[int], None]:
        report()
        rows = [0]
        current.append((path.name, time.perf_counter(), rows))

        def advance(n: int) -> None:
            rows[0] += n

        return advance

    try:
        yield for_log
    finally:
        report()


def examples(*lines: str) -> str:
    """An Examples section for a command's ``--help`` (typer's epilog): one example a line, as written
    (rich markup such as ``[...]`` is escaped)."""
    return "Examples:\n\n" + "\n".join(escape(line) for line in lines)

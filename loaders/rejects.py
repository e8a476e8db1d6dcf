"""The rejects file: one JSONL line per row the loader did not load, with its line and the reason.

Each input file gets its own, ``<rejects_dir>/<file stem>.jsonl`` (docs/data-format.md, "Rejects and exit
codes"): ``file``, ``line``, ``field``, ``value``, ``reason`` and the raw ``row`` (``raw`` for a JSONL line
that is no JSON object). Rejected rows are personal data: the file is 0600, a folder made for it 0700.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO, Any

from personagraph.graph.settings import get_settings
from personagraph.loaders.readers import split_name


def default_rejects_dir() -> Path:
    """``<data_dir>/rejects``: rejected rows hold personal data, so they go beside the other private files."""
    return get_settings().data_dir / "rejects"


def rejects_file_name(path: Path, *, whole_name: bool = False) -> str:
    """The rejects file name of input ``path``: its name without format and compression plus ``.jsonl``
    (``orders.csv.gz`` -> ``orders.jsonl``), or its whole name (``users.csv.jsonl``) when a folder holds
    two files of that stem."""
    return f"{path.name if whole_name else split_name(path)[0]}.jsonl"


class RejectsFile:
    """The rejects of one input file, created at the first reject (no rejects, no file); thread-safe:
    validation and the writer thread both reject."""

    def __init__(self, path: Path, source_name: str) -> None:
        self.path = path
        self.source_name = source_name  # the input file's name, in every entry
        self.count = 0
        self._out: IO[str] | None = None
        self._lock = threading.Lock()

    def add(
        self,
        line: int,
        column: str,
        value: Any,
        reason: str,
        raw: dict[str, Any] | None,
        line_text: str | None = None,
    ) -> None:
        """One rejected row: its ``line``, the ``column`` at fault and its ``value``, the ``reason`` and the
        row as read (None for a refused row, so nothing of it is copied out)."""
        entry = {
            "file": self.source_name,
            "line": line,
            "field": column,
            "value": value,
            "reason": reason,
            "row": raw,
        }
        if line_text is not None:
            entry["raw"] = line_text  # a JSONL line that is no JSON object: kept as read
        text = json.dumps(entry, default=str, ensure_ascii=False) + "\n"
        with self._lock:
            if self._out is None:
                self._out = private_file(self.path)
            self.count += 1
            self._out.write(text)

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None


def private_file(path: Path) -> IO[str]:
    """``path`` opened for writing, readable by its owner only (0600; also when it existed before), in a
    folder created 0700 when missing (an existing folder keeps its mode: it may be shared on purpose).
    backslashreplace: a rejected row's lone surrogate is written as its escape, \\ud800."""
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace")

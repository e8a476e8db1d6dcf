"""The audit log: who read personal data, exported an audience or changed the graph, when, and how much.

One JSON object per line, appended to ``PERSONA_AUDIT_LOG`` (default ``<data_dir>/audit.log``) by the
API and the CLI alike. Each line is written with a single ``write`` on a file opened for appending, so
lines from several processes do not interleave. Entries never carry personal data: users appear as
their pseudonymous ids, a forgotten user only as the keyed hash on the suppression list.

Fields: ``at`` (UTC, ISO 8601), ``actor`` (API key name, token subject or OS user), ``role``,
``action`` (``read`` / ``export`` / ``mutation`` / ``forget`` / ...), ``what`` (operation or command),
``rows`` (how many users' data it returned or touched) and free ``details``.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    role: str
    action: str
    what: str
    rows: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))


class AuditLog:
    """Appends entries to one file; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        line = (json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True, default=str) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def latest(self, first: int, action: str | None = None) -> list[AuditEntry]:
        """The newest ``first`` entries (of one action, if given), newest first."""
        kept: deque[AuditEntry] = deque(maxlen=first)
        for entry in self.entries():
            if action is None or entry.action == action:
                kept.append(entry)
        return list(reversed(kept))

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (for `persona audit` and the tests)."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield AuditEntry(**json.loads(line))

"""A named lock across the processes of one machine: an exclusive, non-blocking flock on a file.

What lets one folding worker per event log (graph/events/journal.py ``FoldLock``) and one webhook
dispatcher per machine (graph/webhooks/dispatcher.py) run at a time. The operating system releases the
lock when its holder's process ends, even by kill -9, so a dead holder never keeps the others out. The
file must be on a local disk (flock does not work across NFS).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class FileLock:
    """An exclusive flock on ``path`` (created 0600 when missing), taken without waiting."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """True when this object now holds the lock (or already did); False when another holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let another holder in (nothing happens when this object does not hold the lock)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


__all__ = ["FileLock"]

"""The search index's single-writer lock: an OS file lock beside the index.

Several Paperpost processes share one data folder (a service, cron digests, syncs,
searches). Exactly one of them at a time may write the tantivy index: the one holding
this lock. ``flock`` is released by the kernel when its holder exits, however it exits,
so a killed writer never leaves the index locked.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILENAME = "search-index.lock"


class WriterLock:
    """A non-blocking exclusive ``flock`` on ``path``, held until ``release``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this object holds it now."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # e.g. a read-only folder: then nobody here writes the index
            log.debug("cannot open the index lock %s: %s", self.path, exc.strerror)
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process (or object) holds it
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

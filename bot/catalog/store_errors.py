"""One-line StoreErrors for a store that cannot be written, read or opened.

SQLite reports a failed write as an error code (``SQLITE_FULL``), not as the
operating system's errno; the message names both, so an operator reading one
log line knows the file, what happened and what to do.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from paperpost.bot.errors import StoreError, StoreReadOnlyError, StoreWriteError

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26

_WHAT = {
    SQLITE_FULL: ("the disk is full", errno.ENOSPC, "free some space"),
    SQLITE_IOERR: ("an I/O error", errno.EIO, "check the disk"),
    SQLITE_BUSY: ("locked by another process", errno.EAGAIN, "try again"),
    SQLITE_LOCKED: ("locked by another process", errno.EAGAIN, "try again"),
    SQLITE_CANTOPEN: ("cannot be opened", errno.ENOENT, "check the folder"),
}


def corrupt(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"the store {path} is unreadable ({detail}). Paperpost will not reset it: "
        f"restore it from a backup, or move it aside (mv {path} {path}.broken) "
        "to start empty and run 'paperpost sync' to fetch papers again."
    )


def read_only(path: Path, code: str, *, subject: str | None = None) -> StoreReadOnlyError:
    return StoreReadOnlyError(
        f"{subject or f'the store {path}'} is read-only ({code}): Paperpost must be able to "
        f"write {path}; make {path.parent} writable, or set PAPERPOST_DATA_DIR to a writable "
        "copy of that folder."
    )


def folder_is_read_only(folder: Path) -> bool:
    # access() reports a read-only mount even to root, for whom chmod changes nothing.
    return folder.exists() and not os.access(folder, os.W_OK)


def from_sqlite(path: Path, exc: sqlite3.Error) -> StoreError:
    """The StoreError for a failed SQLite call on ``path``."""
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == SQLITE_READONLY or "readonly database" in str(exc):
        return read_only(path, f"EROFS, {name}")
    if primary == SQLITE_CANTOPEN and folder_is_read_only(path.parent):
        return read_only(path, f"EROFS, {name}")
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return corrupt(path, str(exc))
    if primary in _WHAT:
        what, number, fix = _WHAT[primary]
        return StoreWriteError(
            f"cannot use the store {path}: {what} ({errno.errorcode[number]}, {name}); "
            f"{fix}, then start Paperpost again."
        )
    return StoreWriteError(f"cannot use the store {path}: {exc} ({name})")


def from_os(path: Path, exc: OSError) -> StoreError:
    """The StoreError for a failed file operation beside the store ``path`` (its lock file)."""
    number = exc.errno or 0
    code = errno.errorcode.get(number, str(number))
    if number in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only(path, code, subject=f"the data folder {path.parent}")
    return StoreWriteError(f"cannot use {path}: {exc.strerror or exc} ({code})")

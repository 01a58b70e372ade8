"""Paperpost's errors.

PaperpostError                 base; never shown to users as-is unless a UserError
├── UserError                  text is safe to show the user verbatim
│   ├── QueryError             a search/subscription query that does not parse
│   └── CommandError           an unknown command or a bad argument
├── SourceError                the paper source failed (network, HTTP status)
│   └── SourceFormatError      the source answered with an unexpected shape
├── StoreError                 the store cannot be opened, read or written
│   ├── StoreReadOnlyError     the data folder or the file is read-only
│   ├── StoreWriteError        a write failed (disk full, I/O error, locked)
│   ├── StoreClosedError       the store was used after close()
│   └── StoreVersionError      the store was written by a newer Paperpost
└── DeliveryError              a platform refused a post
        .permanent             True: retrying is useless (channel gone, no access)
"""

from __future__ import annotations


class PaperpostError(Exception):
    """Base of every error Paperpost raises on purpose."""


class UserError(PaperpostError):
    """An error caused by user input; its text is written for that user."""


class QueryError(UserError):
    """A query that does not parse. ``position`` points at the problem, when known."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class CommandError(UserError):
    """An unknown command, or a command with a bad argument."""


class SourceError(PaperpostError):
    """The paper source could not deliver a day (after retries)."""


class SourceFormatError(SourceError):
    """The source answered, but not with the shape Paperpost expects."""


class StoreError(PaperpostError):
    """The store is unusable; the one-line message names the file and the fix."""


class StoreReadOnlyError(StoreError):
    """The store (or its folder) cannot be written: reported as read-only, never as corrupt."""


class StoreWriteError(StoreError):
    """A read or write failed at once (disk full, I/O error); the message names the errno."""


class StoreClosedError(StoreError):
    """The store was used after it was closed: raised at once, never waited on."""


class StoreVersionError(StoreError):
    """The store's schema is newer than this Paperpost knows."""


class DeliveryError(PaperpostError):
    """A platform did not accept a post."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


__all__ = [
    "CommandError",
    "DeliveryError",
    "PaperpostError",
    "QueryError",
    "SourceError",
    "SourceFormatError",
    "StoreClosedError",
    "StoreError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "StoreWriteError",
    "UserError",
]

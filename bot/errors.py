"""Paperpost's errors.

PaperpostError                 base; never shown to users as-is unless a UserError
├── UserError                  text is safe to show the user verbatim
│   ├── QueryError             a search/subscription query that does not parse
│   └── CommandError           an unknown command or a bad argument
├── SourceError                the paper source failed (network, HTTP status)
│   └── SourceFormatError      the source answered with an unexpected shape
├── StoreError                 the store cannot be opened or read
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
    """The store is unreadable or corrupt; the message names the file and the fix."""


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
    "StoreError",
    "UserError",
]

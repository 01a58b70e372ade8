"""The storage port: SQL transactions on the store's database, whichever engine holds it.

The store's key-value tables (``Store.table``) cover most state; the few tables that
need a real read-then-write transaction (delivery claims, votes, paper lookups, the
index marks) go through a ``Database``:

- ``connection()``: statements that stand alone (autocommit);
- ``transaction(lock=KEY)``: one transaction, committed on success, rolled back on
  any exception. SQLite takes its write lock first (``BEGIN IMMEDIATE``);
  PostgreSQL takes ``pg_advisory_xact_lock(hashtext(KEY))``, so the same
  read-then-write on the same KEY is atomic across processes and replicas;
- ``singleton_lock(name)``: a lock at most one process holds (the keeper's), an
  OS file lock beside the SQLite file or a PostgreSQL session advisory lock.

SQL is written once, in the dialect both engines speak: ``?`` placeholders,
``INSERT ... ON CONFLICT (key) DO UPDATE SET col = excluded.col``, TEXT / REAL /
INTEGER columns (REAL is a double on both), no engine-only functions. Every
failure is the store's one-line ``StoreError``, raised by ``execute`` itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]


class Rows(Protocol):
    """What ``execute`` returns: a DB-API cursor's reading side."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class SingletonLock(Protocol):
    """Held by at most one process (per data folder on SQLite, per database on
    PostgreSQL); released by the system when its holder dies."""

    @property
    def held(self) -> bool: ...

    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class Database(Protocol):
    @property
    def dialect(self) -> Dialect: ...

    @property
    def where(self) -> str:
        """The file or the URL without its password, for messages."""
        ...

    def connection(self) -> contextlib.AbstractContextManager[Connection]: ...

    def transaction(
        self, *, lock: str | None = None
    ) -> contextlib.AbstractContextManager[Connection]: ...

    def singleton_lock(self, name: str) -> SingletonLock: ...

    def ping(self) -> None:
        """One round trip to the database, or its one-line ``StoreError`` at once."""
        ...

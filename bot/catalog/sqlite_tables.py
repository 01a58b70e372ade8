"""Plain sqlite3 access to the store's file, for the tables that need a real
transaction (delivery claims, votes, paper lookups) rather than sqlitedict's
key-value commits: ``SqliteDatabase`` is the storage port (``database.py``) on it.

Every failure is the store's one-line error (full disk, read-only folder, I/O),
never a raw ``sqlite3`` traceback.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from paperpost.bot.catalog import store_errors
from paperpost.bot.catalog.database import Database
from paperpost.bot.catalog.index_lock import WriterLock

BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write to finish


@contextlib.contextmanager
def connection(path: Path, *, timeout: float = BUSY_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode: statements outside ``transaction`` stand alone."""
    try:
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise store_errors.from_sqlite(path, exc) from exc
    try:
        yield conn
    except sqlite3.Error as exc:
        raise store_errors.from_sqlite(path, exc) from exc
    finally:
        conn.close()


@contextlib.contextmanager
def transaction(path: Path, *, timeout: float = BUSY_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction: it takes SQLite's write lock first, so a
    read-then-write inside it is atomic across processes. Committed on success."""
    with connection(path, timeout=timeout) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


class _Checked:
    """A sqlite3 connection whose every failure is the store's one-line error at once
    (so a caller may catch it inside the transaction, as on PostgreSQL)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, tuple(args))
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(self._path, exc) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            self._conn.executemany(sql, (tuple(r) for r in rows))
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(self._path, exc) from exc


class SqliteDatabase:
    """The ``Database`` port on the store's SQLite file (see ``database.py``)."""

    dialect: Literal["sqlite"] = "sqlite"

    def __init__(self, path: Path, *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self._timeout = timeout

    @property
    def where(self) -> str:
        return str(self.path)

    @contextlib.contextmanager
    def connection(self) -> Iterator[_Checked]:
        with connection(self.path, timeout=self._timeout) as conn:
            yield _Checked(conn, self.path)

    @contextlib.contextmanager
    def transaction(self, *, lock: str | None = None) -> Iterator[_Checked]:
        # BEGIN IMMEDIATE serialises every writer of the file: finer locks add nothing.
        with transaction(self.path, timeout=self._timeout) as conn:
            yield _Checked(conn, self.path)

    def ping(self) -> None:
        with self.connection() as conn:
            conn.execute("SELECT 1").fetchone()

    def singleton_lock(self, name: str) -> WriterLock:
        return WriterLock(self.path.parent / f"{name}.lock")


def as_database(where: Database | Path, *, timeout: float = BUSY_TIMEOUT) -> Database:
    """A ``Database``; a store file's path (as older callers pass) is its SQLite one."""
    return SqliteDatabase(where, timeout=timeout) if isinstance(where, Path) else where

"""The connection under each store table: sqlitedict's interface, no worker thread.

sqlitedict runs every statement on a worker thread and waits on a queue for
the answer. When SQLite fails a commit (a full disk, a read-only file) that
thread dies and the caller waits for ever; after ``close()`` a call still
queued behind the close waits for ever too. ``TableConnection`` offers the
same methods (``execute``, ``select``, ``commit``, ``close``) but runs each
statement in the calling thread under a lock, so a failure raises there and
then, as a one-line ``StoreError``, and a closed table raises at once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from paperpost.bot.catalog import store_errors
from paperpost.bot.errors import StoreClosedError

BUSY_TIMEOUT = 10.0  # seconds SQLite waits for another process's write lock


class TableConnection:
    """Stands in for ``sqlitedict.SqliteMultithread`` (``SqliteDict.conn``)."""

    autocommit = False  # sqlitedict reads this; writes are committed by Store.commit

    def __init__(self, path: Path, *, journal_mode: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._closed = False
        try:
            self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False)
            self._conn.execute(f"PRAGMA journal_mode = {journal_mode}")
            # As sqlitedict did: a kill keeps the last commit (WAL); a power cut may not.
            self._conn.execute("PRAGMA synchronous = OFF")
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(path, exc) from exc

    def _run(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store {self.path} is closed")
            try:
                return self._conn.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as exc:
                self._abandon()
                raise store_errors.from_sqlite(self.path, exc) from exc

    def _abandon(self) -> None:
        # A failed statement or commit ends its logical write: roll it back so
        # the next write starts clean instead of committing half of this one.
        with contextlib.suppress(sqlite3.Error):
            self._conn.rollback()

    # -- the interface SqliteDict calls -----------------------------------------
    def execute(self, req: str, arg: Iterable[Any] | None = None, res: object = None) -> None:
        self._run(req, arg or ())

    def executemany(self, req: str, items: Iterable[Iterable[Any]]) -> None:
        for item in items:
            self._run(req, item)

    def select(self, req: str, arg: Iterable[Any] | None = None) -> Iterator[Any]:
        return iter(self._run(req, arg or ()))

    def select_one(self, req: str, arg: Iterable[Any] | None = None) -> Any:
        rows = self._run(req, arg or ())
        return rows[0] if rows else None

    def commit(self, blocking: bool = True) -> None:
        with self._lock:
            if self._closed:
                raise StoreClosedError(f"the store {self.path} is closed")
            try:
                self._conn.commit()
            except sqlite3.Error as exc:
                self._abandon()
                raise store_errors.from_sqlite(self.path, exc) from exc

    def rollback(self) -> None:
        """Drop uncommitted writes, releasing the database's write lock."""
        with self._lock:
            if not self._closed:
                self._abandon()

    def close(self, force: bool = False) -> None:
        """Uncommitted writes are dropped, as with sqlitedict's close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(sqlite3.Error):
                self._conn.rollback()
                self._conn.close()

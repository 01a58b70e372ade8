"""Paperpost's state on disk: one folder, one SQLite file, JSON-encoded tables.

Everything Paperpost remembers (papers, featured days, channels, the delivery
ledger) lives in ``$PAPERPOST_DATA_DIR/paperpost.sqlite`` so the folder can be
backed up or moved as a whole. The search index beside it is derived and is
rebuilt from here when missing.

Tables are ``sqlitedict`` mappings with JSON values (never pickle: a store
must not be able to run code when read). SQLite's journal makes every commit
atomic, so a kill in mid-write leaves the previous state intact.

The store fails fast: each table runs its statements in the caller's thread
(``TableConnection``, not sqlitedict's worker thread), so a failed write raises
a one-line ``StoreError`` at once, and any use after ``close()`` raises
``StoreClosedError`` instead of waiting. The file carries its schema version;
opening it runs the pending migrations (``migrations.py``) first.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlitedict import SqliteDict

from paperpost.bot.catalog import migrations, store_errors
from paperpost.bot.catalog.table_connection import TableConnection
from paperpost.bot.errors import StoreClosedError, StoreError

STORE_FILENAME = "paperpost.sqlite"
INDEX_FILENAME = "search-index"  # a tantivy index directory
TABLES = ("papers", "days", "channels", "ledger", "open_deliveries", "posted", "meta", "feedback",
          "feedback_messages")  # fmt: skip


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _decode(blob: str | bytes) -> Any:
    return json.loads(blob)


class _Table(SqliteDict):  # type: ignore[misc, unused-ignore]  # sqlitedict ships no type hints
    """A SqliteDict whose connection fails fast (see ``TableConnection``)."""

    def _new_conn(self) -> TableConnection:
        return TableConnection(Path(self.filename), journal_mode=self.journal_mode)

    def close(self, do_log: bool = True, force: bool = False) -> None:
        # Keep the closed connection (sqlitedict drops it), so later calls
        # raise StoreClosedError rather than AttributeError on None.
        if getattr(self, "conn", None) is not None:
            self.conn.close()


class Store:
    """The open store file and its tables.

    ``store.table("papers")`` returns a dict-like ``SqliteDict``; callers
    commit with ``store.commit(name)`` once a logical write is complete.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / STORE_FILENAME
        self._lock = threading.Lock()
        self._closed = False
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror}. "
                "Set PAPERPOST_DATA_DIR to a writable folder."
            ) from exc
        with migrations.exclusive_lock(self.path):
            self._check_readable()
            self.schema_found = migrations.migrate(self.path)
        self._tables: dict[str, SqliteDict] = {}
        try:
            for name in TABLES:
                self._tables[name] = self._open_table(name)
        except BaseException:
            self.close()
            raise

    def _check_readable(self) -> None:
        """Fail loudly, naming the file, rather than silently starting afresh."""
        if not self.path.exists():
            return
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as conn:
                status = conn.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise store_errors.from_sqlite(self.path, exc) from exc
        if not status or status[0] != "ok":
            detail = str(status[0]) if status else "integrity check failed"
            raise store_errors.corrupt(self.path, detail)

    def _open_table(self, name: str) -> SqliteDict:
        try:
            table = _Table(
                str(self.path),
                tablename=name,
                autocommit=False,
                journal_mode="WAL",
                encode=_encode,
                decode=_decode,
                outer_stack=False,
            )
            len(table)  # forces a read, so a bad file fails here, not later
        except sqlite3.DatabaseError as exc:
            raise store_errors.from_sqlite(self.path, exc) from exc
        except (RuntimeError, json.JSONDecodeError) as exc:
            raise store_errors.corrupt(self.path, str(exc)) from exc
        return table

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store {self.path} is closed")

    def scan(self, name: str) -> Iterator[tuple[str, Any]]:
        """Every (key, value) of a table in one query, for bulk reads.

        Reads committed data straight from SQLite: iterating a SqliteDict
        costs a round trip through its worker thread per row.
        """
        assert name in TABLES
        self._check_open()
        try:
            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                rows = conn.execute(f'SELECT key, value FROM "{name}"')
                for key, blob in rows:
                    yield key, _decode(blob)
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(self.path, exc) from exc

    def table(self, name: str) -> SqliteDict:
        self._check_open()
        return self._tables[name]

    def commit(self, *names: str) -> None:
        self._check_open()
        with self._lock:
            for name in names or TABLES:
                self._tables[name].commit(blocking=True)

    def rollback(self, *names: str) -> None:
        """Drop the tables' uncommitted writes: a logical write that failed half-way
        must not keep SQLite's write lock (others would wait) nor be committed later."""
        for name in names or TABLES:
            self._tables[name].conn.rollback()

    @property
    def index_path(self) -> Path:
        return self.data_dir / INDEX_FILENAME

    def close(self) -> None:
        """Idempotent. Anything still holding a table gets StoreClosedError from now on."""
        self._closed = True
        for table in self._tables.values():
            table.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

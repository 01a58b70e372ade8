"""The store's key-value tables in one SQLite file (the default backend).

Tables are ``sqlitedict`` mappings with JSON values (never pickle: a store
must not be able to run code when read). SQLite's journal makes every commit
atomic, so a kill in mid-write leaves the previous state intact.

The tables fail fast: each runs its statements in the caller's thread
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
from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from sqlitedict import SqliteDict

from paperpost.bot.catalog import migrations, store_errors
from paperpost.bot.catalog.sqlite_tables import SqliteDatabase
from paperpost.bot.catalog.table_connection import TableConnection


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode(blob: str | bytes) -> Any:
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


class SqliteTables:
    """The tables ``names`` in the SQLite file ``path``, migrated at open."""

    def __init__(self, path: Path, names: Sequence[str]) -> None:
        self.path = path
        self.db = SqliteDatabase(path)
        self._lock = threading.Lock()
        with migrations.exclusive_lock(self.path):
            self._check_readable()
            self.schema_found = migrations.migrate(self.path)
        self._tables: dict[str, SqliteDict] = {}
        try:
            for name in names:
                self._tables[name] = self._open_table(name)
        except BaseException:
            self.close()
            raise

    @property
    def where(self) -> str:
        return str(self.path)

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
                encode=encode,
                decode=decode,
                outer_stack=False,
            )
            len(table)  # forces a read, so a bad file fails here, not later
        except sqlite3.DatabaseError as exc:
            raise store_errors.from_sqlite(self.path, exc) from exc
        except (RuntimeError, json.JSONDecodeError) as exc:
            raise store_errors.corrupt(self.path, str(exc)) from exc
        return table

    def scan(self, name: str) -> Iterator[tuple[str, Any]]:
        # Straight from SQLite: iterating a SqliteDict costs a round trip per row.
        try:
            with contextlib.closing(sqlite3.connect(self.path)) as conn:
                rows = conn.execute(f'SELECT key, value FROM "{name}"')
                for key, blob in rows:
                    yield key, decode(blob)
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(self.path, exc) from exc

    def table(self, name: str) -> MutableMapping[str, Any]:
        table: MutableMapping[str, Any] = self._tables[name]
        return table

    def commit(self, names: Sequence[str]) -> None:
        with self._lock:
            for name in names:
                self._tables[name].commit(blocking=True)

    def rollback(self, names: Sequence[str]) -> None:
        for name in names:
            self._tables[name].conn.rollback()

    def close(self) -> None:
        for table in self._tables.values():
            table.close()

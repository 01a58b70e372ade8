"""Paperpost's state on disk: one folder, one SQLite file, JSON-encoded tables.

Everything Paperpost remembers (papers, featured days, channels, the delivery
ledger) lives in ``$PAPERPOST_DATA_DIR/paperpost.sqlite`` so the folder can be
backed up or moved as a whole. The search index beside it is derived and is
rebuilt from here when missing.

Tables are ``sqlitedict`` mappings with JSON values (never pickle: a store
must not be able to run code when read). SQLite's journal makes every commit
atomic, so a kill in mid-write leaves the previous state intact.
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

from paperpost.bot.errors import StoreError

STORE_FILENAME = "paperpost.sqlite"
INDEX_FILENAME = "search-index"  # a tantivy index directory
TABLES = ("papers", "days", "channels", "ledger", "open_deliveries", "posted", "meta", "feedback")


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _decode(blob: str | bytes) -> Any:
    return json.loads(blob)


class Store:
    """The open store file and its tables.

    ``store.table("papers")`` returns a dict-like ``SqliteDict``; callers
    commit with ``store.commit(name)`` once a logical write is complete.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / STORE_FILENAME
        self._lock = threading.Lock()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror}. "
                "Set PAPERPOST_DATA_DIR to a writable folder."
            ) from exc
        self._check_readable()
        self._tables: dict[str, SqliteDict] = {}
        for name in TABLES:
            self._tables[name] = self._open_table(name)

    def _check_readable(self) -> None:
        """Fail loudly, naming the file, rather than silently starting afresh."""
        if not self.path.exists():
            return
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as conn:
                status = conn.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(str(exc)) from exc
        if not status or status[0] != "ok":
            raise self._corrupt(str(status[0]) if status else "integrity check failed")

    def _corrupt(self, detail: str) -> StoreError:
        return StoreError(
            f"the store {self.path} is unreadable ({detail}). Paperpost will not reset it: "
            f"restore it from a backup, or move it aside (mv {self.path} {self.path}.broken) "
            "to start empty and run 'paperpost sync' to fetch papers again."
        )

    def _open_table(self, name: str) -> SqliteDict:
        try:
            table = SqliteDict(
                str(self.path),
                tablename=name,
                autocommit=False,
                journal_mode="WAL",
                encode=_encode,
                decode=_decode,
                outer_stack=False,
            )
            len(table)  # forces a read, so a bad file fails here, not later
        except (sqlite3.DatabaseError, RuntimeError, json.JSONDecodeError) as exc:
            raise self._corrupt(str(exc)) from exc
        return table

    def scan(self, name: str) -> Iterator[tuple[str, Any]]:
        """Every (key, value) of a table in one query, for bulk reads.

        Reads committed data straight from SQLite: iterating a SqliteDict
        costs a round trip through its worker thread per row.
        """
        assert name in TABLES
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            for key, blob in conn.execute(f'SELECT key, value FROM "{name}"'):
                yield key, _decode(blob)

    def table(self, name: str) -> SqliteDict:
        return self._tables[name]

    def commit(self, *names: str) -> None:
        with self._lock:
            for name in names or TABLES:
                self._tables[name].commit(blocking=True)

    @property
    def index_path(self) -> Path:
        return self.data_dir / INDEX_FILENAME

    def close(self) -> None:
        for table in self._tables.values():
            table.close()
        self._tables.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

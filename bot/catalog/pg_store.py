"""The store's key-value tables in PostgreSQL (``PAPERPOST_DATABASE_URL``).

Each table is ``(key TEXT PRIMARY KEY, value TEXT)`` holding the same JSON text as
the SQLite store, byte for byte: key order is kept, and ``\\u0000`` in untrusted
upstream text is stored as it is (``jsonb`` refuses it). Like a sqlitedict table,
writes wait in the table object until ``commit`` writes them in one transaction
(so a logical write is atomic) or ``rollback`` drops them; reads see them meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from paperpost.bot.catalog import pg_schema
from paperpost.bot.catalog.pg_database import PgDatabase
from paperpost.bot.catalog.sqlite_store import decode, encode

_DELETED = None  # a pending delete (pending values are JSON text, never None)


class PgTable(MutableMapping[str, Any]):
    def __init__(self, db: PgDatabase, name: str) -> None:
        self._db = db
        self.name = name
        self._pending: dict[str, str | None] = {}
        self._lock = threading.RLock()

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._db.connection() as conn:
            return conn.execute(sql.format(t=f'"{self.name}"'), args).fetchall()

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            if key in self._pending:
                blob = self._pending[key]
                if blob is _DELETED:
                    raise KeyError(key)
                return decode(blob)
        rows = self._rows("SELECT value FROM {t} WHERE key = ?", (key,))
        if not rows:
            raise KeyError(key)
        return decode(rows[0][0])

    def __contains__(self, key: object) -> bool:
        with self._lock:
            if key in self._pending:
                return self._pending[key] is not _DELETED
        return bool(self._rows("SELECT 1 FROM {t} WHERE key = ?", (key,)))

    def __setitem__(self, key: str, value: Any) -> None:
        self._db._check_open()
        blob = encode(value)
        with self._lock:
            self._pending[key] = blob

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        with self._lock:
            self._pending[key] = _DELETED

    def _merged(self) -> dict[str, str]:
        rows = self._rows("SELECT key, value FROM {t} ORDER BY key")
        merged: dict[str, str] = dict(rows)
        with self._lock:
            for key, blob in self._pending.items():
                if blob is _DELETED:
                    merged.pop(key, None)
                else:
                    merged[key] = blob
        return merged

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            pending = bool(self._pending)
        if pending:
            return iter(list(self._merged()))
        return iter([key for (key,) in self._rows("SELECT key FROM {t} ORDER BY key")])

    def __len__(self) -> int:
        with self._lock:
            pending = bool(self._pending)
        if pending:
            return len(self._merged())
        return int(self._rows("SELECT COUNT(*) FROM {t}")[0][0])

    def items(self) -> Any:  # one query, not one per key
        return [(key, decode(blob)) for key, blob in self._merged().items()]

    def values(self) -> Any:
        return [decode(blob) for blob in self._merged().values()]

    def commit(self) -> None:
        """Write the pending changes in one transaction; on failure they are dropped
        (the logical write ended), as with a failed SQLite commit."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        upserts = [(k, v) for k, v in pending.items() if v is not _DELETED]
        deletes = [(k,) for k, v in pending.items() if v is _DELETED]
        with self._db.transaction() as conn:
            conn.executemany(
                f'INSERT INTO "{self.name}" (key, value) VALUES (?, ?) '
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                upserts,
            )
            conn.executemany(f'DELETE FROM "{self.name}" WHERE key = ?', deletes)

    def rollback(self) -> None:
        with self._lock:
            self._pending.clear()


class PgTables:
    """The ``Tables`` backend (``store.py``) on the PostgreSQL database at ``url``."""

    def __init__(self, url: str, names: Sequence[str]) -> None:
        self.db = PgDatabase(url)
        try:
            self.schema_found = pg_schema.upgrade(self.db, names)
        except BaseException:
            self.db.close()
            raise
        self._tables = {name: PgTable(self.db, name) for name in names}

    @property
    def where(self) -> str:
        return self.db.where

    def table(self, name: str) -> MutableMapping[str, Any]:
        return self._tables[name]

    def scan(self, name: str) -> Iterator[tuple[str, Any]]:
        with self.db.connection() as conn:
            rows = conn.execute(f'SELECT key, value FROM "{name}"').fetchall()
        for key, blob in rows:
            yield key, decode(blob)

    def commit(self, names: Sequence[str]) -> None:
        for name in names:
            self._tables[name].commit()

    def rollback(self, names: Sequence[str]) -> None:
        for name in names:
            self._tables[name].rollback()

    def close(self) -> None:
        self.db.close()

"""Papers stored but not yet in the search index, shared by every process on the folder.

A process adding a day marks it here before writing the papers (so a crash mid-write
leaves the day to index) and again after (so a writer that read the first mark while
the papers were still being written indexes them once more). The index writer reads
the marks, indexes their papers from the store, and removes each mark only if it is
unchanged since it was read (compare-and-delete in one SQL statement): a mark that
another process rewrote meanwhile stays for the next round.

That is for processes sharing one index (one data folder). Replicas on PostgreSQL
each keep their own index, so there the marks are a log each replica reads from its
own position (``replica_marks.py``); ``marks_for`` picks the one the store needs.
Both keep the flag "this index matched the store" where the index's owners see it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, MutableMapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from paperpost.bot.catalog.database import Connection, Database
from paperpost.bot.catalog.sqlite_tables import as_database

if TYPE_CHECKING:
    from paperpost.bot.catalog.store import Store

TABLE = "unindexed_days"
_TIMEOUT = 30.0  # seconds to wait for another process's write transaction
INDEX_CONSISTENT = "index_consistent"  # the meta key, on a shared (SQLite) store


@dataclass(frozen=True, slots=True)
class PendingDay:
    key: str  # "<day>/<nonce>": one row per add_day call, never overwritten by another
    value: str  # the row as read, compared when removing it
    paper_ids: tuple[str, ...]


class IndexMarks(Protocol):
    """What the library needs of the marks, shared or per replica."""

    def new_key(self, day: date) -> str: ...
    def new_lookup_key(self) -> str: ...
    def mark(self, key: str, paper_ids: Sequence[str]) -> None: ...
    def pending(self) -> list[PendingDay]: ...
    def done(self, entry: PendingDay) -> None: ...
    def count(self) -> int: ...
    def position(self) -> int: ...
    def skip_to(self, position: int) -> None: ...
    def index_consistent(self) -> bool: ...
    def set_index_consistent(self, consistent: bool) -> None: ...


def marks_for(store: Store) -> IndexMarks:
    if store.db.dialect == "postgresql":
        from paperpost.bot.catalog.replica_marks import ReplicaMarks

        return ReplicaMarks(store.db, store.data_dir)
    return UnindexedDays(store.db, meta=store.table("meta"), commit=lambda: store.commit("meta"))


class UnindexedDays:
    def __init__(
        self,
        store: Database | Path,
        *,
        meta: MutableMapping[str, Any] | None = None,
        commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = as_database(store, timeout=_TIMEOUT)
        self._meta: MutableMapping[str, Any] = {} if meta is None else meta
        self._commit_meta = commit
        with self._db.connection() as conn:
            # Same layout as the store's other tables (sqlitedict's), so it reads alike.
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{TABLE}" (key TEXT PRIMARY KEY, value BLOB)')

    def _connect(self) -> AbstractContextManager[Connection]:
        # Each use is one statement (atomic alone). A full or read-only disk is one line
        # naming the file, as for the other tables.
        return self._db.connection()

    def new_key(self, day: date) -> str:
        return f"{day.isoformat()}/{secrets.token_hex(6)}"

    def new_lookup_key(self) -> str:
        """The key of papers stored from a lookup (a pasted link), not a featured day."""
        return f"lookup/{secrets.token_hex(6)}"

    def mark(self, key: str, paper_ids: Sequence[str]) -> None:
        value = json.dumps({"nonce": secrets.token_hex(6), "ids": list(paper_ids)})
        with self._connect() as conn:
            conn.execute(
                f'INSERT INTO "{TABLE}" (key, value) VALUES (?, ?) '
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def pending(self) -> list[PendingDay]:
        with self._connect() as conn:
            rows = conn.execute(f'SELECT key, value FROM "{TABLE}" ORDER BY key').fetchall()
        return [PendingDay(key, value, tuple(json.loads(value)["ids"])) for key, value in rows]

    def done(self, entry: PendingDay) -> None:
        with self._connect() as conn:
            conn.execute(
                f'DELETE FROM "{TABLE}" WHERE key = ? AND value = ?', (entry.key, entry.value)
            )

    def count(self) -> int:
        with self._connect() as conn:
            (n,) = conn.execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()
        return int(n)

    # The marks are shared by every process on the store: no position of its own.
    def position(self) -> int:
        return 0

    def skip_to(self, position: int) -> None:
        return None

    def index_consistent(self) -> bool:
        return bool(self._meta.get(INDEX_CONSISTENT, False))

    def set_index_consistent(self, consistent: bool) -> None:
        self._meta[INDEX_CONSISTENT] = consistent
        self._commit_meta()

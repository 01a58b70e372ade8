"""Papers stored but not yet in the search index, shared by every process on the folder.

A process adding a day marks it here before writing the papers (so a crash mid-write
leaves the day to index) and again after (so a writer that read the first mark while
the papers were still being written indexes them once more). The index writer reads
the marks, indexes their papers from the store, and removes each mark only if it is
unchanged since it was read (compare-and-delete in one SQL statement): a mark that
another process rewrote meanwhile stays for the next round.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from paperpost.bot.catalog import store_errors

TABLE = "unindexed_days"
_TIMEOUT = 30.0  # seconds to wait for another process's write transaction


@dataclass(frozen=True, slots=True)
class PendingDay:
    key: str  # "<day>/<nonce>": one row per add_day call, never overwritten by another
    value: str  # the row as read, compared when removing it
    paper_ids: tuple[str, ...]


class UnindexedDays:
    def __init__(self, store_path: Path) -> None:
        self._path = store_path
        with self._connect() as conn:
            # Same layout as the store's other tables (sqlitedict's), so it reads alike.
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{TABLE}" (key TEXT PRIMARY KEY, value BLOB)')

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A full or read-only disk is one line naming the file, as for the other tables.
        try:
            conn = sqlite3.connect(self._path, timeout=_TIMEOUT)
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(self._path, exc) from exc
        try:
            with conn:  # one transaction, committed on success
                yield conn
        except sqlite3.Error as exc:
            raise store_errors.from_sqlite(self._path, exc) from exc
        finally:
            conn.close()

    def new_key(self, day: date) -> str:
        return f"{day.isoformat()}/{secrets.token_hex(6)}"

    def new_lookup_key(self) -> str:
        """The key of papers stored from a lookup (a pasted link), not a featured day."""
        return f"lookup/{secrets.token_hex(6)}"

    def mark(self, key: str, paper_ids: Sequence[str]) -> None:
        value = json.dumps({"nonce": secrets.token_hex(6), "ids": list(paper_ids)})
        with self._connect() as conn:
            conn.execute(
                f'INSERT OR REPLACE INTO "{TABLE}" (key, value) VALUES (?, ?)', (key, value)
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

"""Plain sqlite3 access to the store's file, for the tables that need a real
transaction (delivery claims, votes, paper lookups) rather than sqlitedict's
key-value commits.

Every failure is the store's one-line error (full disk, read-only folder, I/O),
never a raw ``sqlite3`` traceback.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from paperpost.bot.catalog import store_errors

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

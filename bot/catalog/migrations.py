"""The store's schema version, and the migrations that bring a store up to it.

The version lives in the file itself (``PRAGMA user_version``). Each change of
layout is one function in ``MIGRATIONS`` that takes the store from version
N-1 to N inside one transaction that also writes N, so a kill mid-migration
leaves the previous version intact and the next start runs it again. A store
written before versions existed (user_version 0) has exactly version 1's
layout, so migration 1 only creates what is missing and marks it.

A table that only gets added (empty, under a new name) needs no migration: the
store creates every table in ``TABLES`` at open. A migration is for changing
what existing rows mean.

Migrations run at open under an exclusive lock on a file in the data folder,
so two Paperpost processes starting together migrate once; a process that
meets a store newer than it knows refuses to touch it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from paperpost.bot.catalog import store_errors
from paperpost.bot.errors import StoreError, StoreVersionError

LOCK_SUFFIX = ".lock"  # the lock file sits beside the store: paperpost.sqlite.lock
LOCK_TIMEOUT = 30.0  # seconds to wait for another process's migration
LOCK_POLL = 0.05

Migration = Callable[[sqlite3.Connection], None]


# Frozen: the tables of the first release, whatever store.TABLES holds later.
V1_TABLES = ("papers", "days", "channels", "ledger", "open_deliveries", "posted", "meta")


def _version_1(conn: sqlite3.Connection) -> None:
    """The layout of the first release: sqlitedict's JSON tables of (key, value)."""
    for name in V1_TABLES:
        conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" (key TEXT PRIMARY KEY, value BLOB)')


MIGRATIONS: tuple[Migration, ...] = (_version_1,)  # MIGRATIONS[n - 1] makes version n
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


@contextlib.contextmanager
def exclusive_lock(store: Path, *, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the store's migration lock (``flock``), waiting at most ``timeout``."""
    path = store.with_name(store.name + LOCK_SUFFIX)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise store_errors.from_os(store, exc) from exc
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"another Paperpost process has held {path} for over {timeout:.0f} s "
                        "while upgrading the store; let it finish, then start again"
                    ) from None
                time.sleep(LOCK_POLL)
        yield
    finally:
        os.close(fd)  # also releases the lock


def migrate(path: Path, *, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the store at ``path`` to ``len(migrations)``; returns the version it had.

    Call under ``exclusive_lock``. Idempotent: a store already current is left as is.
    """
    known = len(migrations)
    conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
    try:
        found = schema_version(conn)
        if found > known:
            raise StoreVersionError(
                f"the store {path} has schema version {found}, but this Paperpost knows "
                f"versions up to {known}: upgrade Paperpost to open it (the store is untouched)"
            )
        conn.execute("PRAGMA journal_mode = WAL")
        for version in range(found + 1, known + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if schema_version(conn) < version:  # another process may have run it
                    migrations[version - 1](conn)
                    conn.execute(f"PRAGMA user_version = {version}")
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back
                    conn.execute("ROLLBACK")
                raise
        return found
    except sqlite3.Error as exc:
        raise store_errors.from_sqlite(path, exc) from exc
    finally:
        conn.close()

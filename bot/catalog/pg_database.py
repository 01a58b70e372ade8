"""The storage port (``database.py``) on PostgreSQL: psycopg 3 and a connection pool.

The URL comes from ``PAPERPOST_DATABASE_URL``; messages name it without its
password (``masked``). SQL arrives in the portable dialect and is translated once
per statement: ``?`` placeholders become ``%s``; in ``CREATE TABLE``, REAL (a double
in SQLite) becomes DOUBLE PRECISION and BLOB becomes TEXT (the store keeps JSON
text, exactly as SQLite does). ``CREATE`` statements run under an advisory lock, so
replicas starting together create each table once.

``transaction(lock=KEY)`` takes ``pg_advisory_xact_lock(hashtext(KEY))`` first:
two transactions on the same KEY run one after the other, on any replica.
``singleton_lock(name)`` is a session advisory lock (``pg_try_advisory_lock``) on a
connection of its own, released by the server when its holder's connection ends.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

from paperpost.bot.errors import StoreClosedError, StoreError, StoreReadOnlyError, StoreWriteError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10  # seconds to reach the server
POOL_TIMEOUT = 30.0  # seconds to wait for a free connection of the pool
POOL_SIZE = 8
_DDL_LOCK = "paperpost:ddl"
_CREATE = re.compile(r"^\s*CREATE\s", re.IGNORECASE)
_PASSWORD_PARAM = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (in the user part or a parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}{':***' if sep else ''}@{hostport}"
    return _PASSWORD_PARAM.sub(r"\1***", urlunsplit(parts._replace(netloc=netloc)))


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def store_error(where: str, exc: BaseException, *, secret: str | None = None) -> StoreError:
    """The one-line StoreError for a failed PostgreSQL call; never repeats ``secret``."""
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        detail = detail.replace(secret, "***")
    state = getattr(exc, "sqlstate", None)
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return StoreReadOnlyError(
            f"the PostgreSQL database {where} is read-only ({detail}): point "
            "PAPERPOST_DATABASE_URL at the primary server"
        )
    if isinstance(exc, psycopg.OperationalError) and "authentication failed" in detail:
        return StoreWriteError(
            f"the PostgreSQL server refused the login to {where}: {detail.rstrip('.')}; "
            "check the user and password in PAPERPOST_DATABASE_URL"
        )
    if isinstance(exc, psycopg.OperationalError) and state is None:
        return StoreWriteError(
            f"cannot reach the PostgreSQL database {where}: {detail.rstrip('?.')}; check "
            "that the server is up and PAPERPOST_DATABASE_URL (host, port, user, password)"
        )
    return StoreWriteError(f"cannot use the PostgreSQL database {where}: {detail} ({state})")


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str) -> str:
    """The portable dialect's ``sql`` as psycopg takes it."""
    out = sql.replace("%", "%%").replace("?", "%s")
    if _CREATE.match(out):
        out = re.sub(r"\bREAL\b", "DOUBLE PRECISION", out, flags=re.IGNORECASE)
        out = re.sub(r"\bBLOB\b", "TEXT", out, flags=re.IGNORECASE)
    return out


class PgConnection:
    """One pooled connection speaking the portable dialect; failures are StoreErrors."""

    def __init__(self, raw: psycopg.Connection[Any], db: PgDatabase) -> None:
        self.raw = raw
        self._db = db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        query = to_postgres(sql)
        try:
            if _CREATE.match(query):
                with self.raw.transaction():
                    self.raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_DDL_LOCK,))
                    return self.raw.execute(query, tuple(args))
            return self.raw.execute(query, tuple(args))
        except psycopg.Error as exc:
            raise self._db.error(exc) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        try:
            with self.raw.cursor() as cur:
                cur.executemany(to_postgres(sql), batch)
        except psycopg.Error as exc:
            raise self._db.error(exc) from exc


class PgDatabase:
    dialect: Literal["postgresql"] = "postgresql"

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        self._url = url
        self.where = masked(url)
        self._closed = False
        # One direct attempt first: a pool only says "timed out"; this names the cause.
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise self.error(exc) from None
        except Exception as exc:  # a URL libpq cannot parse
            raise self.error(psycopg.OperationalError(str(exc))) from None
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            timeout=POOL_TIMEOUT,
            open=False,
            name="paperpost",
        )
        try:
            self._pool.open(wait=True, timeout=POOL_TIMEOUT)
        except psycopg.Error as exc:
            self._pool.close()
            raise self.error(exc) from None

    def error(self, exc: BaseException) -> StoreError:
        return store_error(self.where, exc, secret=_password(self._url))

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store {self.where} is closed")

    @contextlib.contextmanager
    def connection(self) -> Iterator[PgConnection]:
        self._check_open()
        try:
            with self._pool.connection() as raw:
                yield PgConnection(raw, self)
        except psycopg.Error as exc:  # no connection to be had, or a failed commit
            raise self.error(exc) from exc

    @contextlib.contextmanager
    def transaction(self, *, lock: str | None = None) -> Iterator[PgConnection]:
        with self.connection() as conn, conn.raw.transaction():
            if lock is not None:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (lock,))
            yield conn

    def singleton_lock(self, name: str) -> SessionLock:
        return SessionLock(self, f"paperpost:{name}")

    def ping(self) -> None:
        # A connection of its own: the pool would wait POOL_TIMEOUT for a dead server.
        with contextlib.closing(self.dedicated()) as conn:
            try:
                conn.execute("SELECT 1")
            except psycopg.Error as exc:
                raise self.error(exc) from None

    def dedicated(self) -> psycopg.Connection[Any]:
        """A connection outside the pool (for a session lock that must stay put)."""
        self._check_open()
        try:
            return psycopg.connect(self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise self.error(exc) from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()


class SessionLock:
    """``pg_try_advisory_lock`` held on a connection of its own until ``release``."""

    def __init__(self, db: PgDatabase, key: str) -> None:
        self._db = db
        self._key = key
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            try:  # a connection that dropped took the lock with it
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                log.warning("lost the database lock %s (connection dropped)", self._key)
                self._drop()
        try:
            conn = self._db.dedicated()
        except StoreError as exc:
            log.warning("cannot take the database lock %s: %s", self._key, exc)
            return False
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self._key,))
            got = bool(row.fetchone()[0])  # type: ignore[index]
        except psycopg.Error:
            got = False
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self._key,))
        self._drop()

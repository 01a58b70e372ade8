"""Paperpost's state: JSON-encoded key-value tables, in one SQLite file or in PostgreSQL.

Everything Paperpost remembers (papers, featured days, channels, the delivery
ledger, votes) lives in ``$PAPERPOST_DATA_DIR/paperpost.sqlite`` (``sqlite_store``)
so the folder can be backed up or moved as a whole, or, when
``PAPERPOST_DATABASE_URL`` names one, in a PostgreSQL database shared by any number
of replicas (``pg_store``). The search index in the data folder is derived and is
rebuilt from the store when missing.

``store.table(name)`` is a dict-like table whose writes are kept until
``store.commit(name)`` (atomic per table) or dropped by ``store.rollback(name)``;
``store.scan(name)`` reads every committed row in one query; ``store.db`` is the
storage port for the tables that need real transactions (``database.py``). Every
failure is a one-line ``StoreError``; any use after ``close()`` raises
``StoreClosedError`` at once.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from paperpost.bot.catalog.database import Database
from paperpost.bot.errors import StoreClosedError, StoreError

STORE_FILENAME = "paperpost.sqlite"
INDEX_FILENAME = "search-index"  # a tantivy index directory
TABLES = (
    *("papers", "days", "channels", "ledger", "open_deliveries", "posted", "meta", "feedback"),
    *("installations", "oauth_states"),  # Slack workspaces installed through OAuth
)


class Tables(Protocol):
    """A backend: the key-value tables of ``TABLES`` and the database under them."""

    @property
    def db(self) -> Database: ...

    @property
    def where(self) -> str: ...

    schema_found: int

    def table(self, name: str) -> MutableMapping[str, Any]: ...
    def scan(self, name: str) -> Iterator[tuple[str, Any]]: ...
    def commit(self, names: Sequence[str]) -> None: ...
    def rollback(self, names: Sequence[str]) -> None: ...
    def close(self) -> None: ...


class Store:
    """The open store and its tables: SQLite in ``data_dir`` unless ``database_url``
    (``postgresql://…``) names the database to use instead."""

    def __init__(self, data_dir: str | Path, database_url: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self._closed = False
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {self.data_dir}: {exc.strerror}. "
                "Set PAPERPOST_DATA_DIR to a writable folder."
            ) from exc
        self._tables: Tables
        if database_url:
            from paperpost.bot.catalog.pg_store import PgTables  # psycopg only when used

            self._tables = PgTables(database_url, TABLES)
        else:
            from paperpost.bot.catalog.sqlite_store import SqliteTables

            self._tables = SqliteTables(self.data_dir / STORE_FILENAME, TABLES)
        self.schema_found = self._tables.schema_found

    @property
    def path(self) -> Path:
        """The SQLite file (the default backend's); on PostgreSQL there is none."""
        if self.db.dialect != "sqlite":
            raise StoreError(f"the store is the PostgreSQL database {self.where}, not a file")
        return self.data_dir / STORE_FILENAME

    @property
    def db(self) -> Database:
        return self._tables.db

    @property
    def where(self) -> str:
        """The file or the database URL (without its password), for messages."""
        return self._tables.where

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the store {self.where} is closed")

    def scan(self, name: str) -> Iterator[tuple[str, Any]]:
        """Every committed (key, value) of a table in one query, for bulk reads."""
        assert name in TABLES
        self._check_open()
        return self._tables.scan(name)

    def table(self, name: str) -> MutableMapping[str, Any]:
        self._check_open()
        return self._tables.table(name)

    def commit(self, *names: str) -> None:
        self._check_open()
        self._tables.commit(names or TABLES)

    def rollback(self, *names: str) -> None:
        """Drop the tables' uncommitted writes: a logical write that failed half-way
        must not keep SQLite's write lock (others would wait) nor be committed later."""
        self._tables.rollback(names or TABLES)

    @property
    def index_path(self) -> Path:
        return self.data_dir / INDEX_FILENAME

    def close(self) -> None:
        """Idempotent. Anything still holding a table gets StoreClosedError from now on."""
        self._closed = True
        self._tables.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

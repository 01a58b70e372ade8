"""The PostgreSQL store's schema: created and migrated at open and by ``paperpost db
upgrade``, idempotent, and safe when replicas start together.

The version lives in the database (``paperpost_schema``). Each migration takes the
schema from version N-1 to N in the transaction that records N, under an advisory
lock, so two replicas upgrade once and a kill mid-way leaves version N-1 intact.
Every key-value table the store declares (``TABLES``, whatever names it holds) is
created when missing, without a migration, as the SQLite store does; the tables with
their own columns (claims, paper lookups) are created by their owners in the portable
dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from paperpost.bot.catalog.database import Connection
from paperpost.bot.catalog.pg_database import PgDatabase
from paperpost.bot.errors import StoreVersionError

LOCK = "paperpost:schema"
KV_LAYOUT = "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"  # JSON text, as in SQLite

Migration = Callable[[Connection], None]


def _version_1(conn: Connection) -> None:
    # The search-index marks, read by each replica from its own position (replica_marks).
    conn.execute(
        "CREATE TABLE IF NOT EXISTS index_marks (seq BIGSERIAL PRIMARY KEY, "
        "key TEXT NOT NULL, ids TEXT NOT NULL)"
    )


MIGRATIONS: tuple[Migration, ...] = (_version_1,)  # MIGRATIONS[n - 1] makes version n
SCHEMA_VERSION = len(MIGRATIONS)


def kv_table(conn: Connection, name: str) -> None:
    conn.execute(f'CREATE TABLE IF NOT EXISTS "{name}" {KV_LAYOUT}')


def upgrade(
    db: PgDatabase, tables: Sequence[str], *, migrations: tuple[Migration, ...] = MIGRATIONS
) -> int:
    """Bring the database to ``len(migrations)`` and create missing tables; returns the
    version it had (0: a new database)."""
    known = len(migrations)
    with db.transaction(lock=LOCK) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS paperpost_schema "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
        )
        row = conn.execute("SELECT version FROM paperpost_schema WHERE id = 1").fetchone()
        found = int(row[0]) if row else 0
        if found > known:
            raise StoreVersionError(
                f"the PostgreSQL database {db.where} has schema version {found}, but this "
                f"Paperpost knows versions up to {known}: upgrade Paperpost to use it "
                "(the database is untouched)"
            )
        for version in range(found + 1, known + 1):
            migrations[version - 1](conn)
        for name in tables:
            kv_table(conn, name)
        if found != known:
            conn.execute(
                "INSERT INTO paperpost_schema (id, version) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                (known,),
            )
    return found

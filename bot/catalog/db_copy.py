"""``paperpost db upgrade`` and ``paperpost db copy``: move a deployment between SQLite
and PostgreSQL, both ways.

A copy reads every row of the source (the key-value tables of ``TABLES`` as their
JSON text, byte for byte, and the delivery claims with their floors and pauses) and
writes them to the target in one transaction per table. It refuses a target that
holds anything unless ``force`` (then the target's rows are replaced). The search
index and its marks are not copied: each data folder rebuilds its index from the
store it opens. Locations are shown without passwords.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from paperpost.bot.catalog import store as store_module
from paperpost.bot.catalog.store import STORE_FILENAME, Store
from paperpost.bot.delivery.claims import Claims
from paperpost.bot.errors import UserError
from paperpost.bot.papers.lookup import LookupThrottle

# The tables with columns of their own (created by their owners), copied column by column.
SQL_TABLES = {
    "claims": ("channel", "holder", "lease_until", "day", "floor", "paused_since"),
    "paper_lookups": ("paper_id", "looked_up_at"),
}
_STALE_INDEX_FLAG = "index_consistent"  # the source's index is not the target's


@dataclass(frozen=True, slots=True)
class Location:
    data_dir: Path | None  # sqlite:PATH
    url: str | None  # postgresql://…

    @classmethod
    def parse(cls, text: str) -> Location:
        """``sqlite:PATH`` (a data folder, or its paperpost.sqlite) or ``postgresql://…``."""
        if text.startswith(("postgresql://", "postgres://")):
            return cls(None, text)
        if text.startswith("sqlite:") and len(text) > len("sqlite:"):
            path = Path(text[len("sqlite:") :]).expanduser()
            if path.name == STORE_FILENAME or path.is_file():
                if path.name != STORE_FILENAME:
                    raise UserError(f"{path} is not a Paperpost store (named {STORE_FILENAME})")
                path = path.parent
            return cls(path, None)
        raise UserError(
            f"'{text[:80]}' is not a store: use sqlite:PATH (a data folder) or postgresql://…"
        )


@contextlib.contextmanager
def opened(location: Location) -> Iterator[Store]:
    """The store at ``location``, its schema current (PostgreSQL needs no data folder)."""
    if location.url is None:
        assert location.data_dir is not None
        with Store(location.data_dir) as store:
            yield store
        return
    with (
        tempfile.TemporaryDirectory(prefix="paperpost-db-") as scratch,
        Store(scratch, location.url) as store,
    ):
        yield store


def upgrade(location: Location) -> tuple[str, int]:
    """Create or migrate the store's schema; (where, the version found before)."""
    with opened(location) as store:
        Claims(store.db)  # the tables with their own columns, too
        LookupThrottle(store.db)
        return store.where, store.schema_found


def _counts(store: Store) -> dict[str, int]:
    with store.db.connection() as conn:
        return {
            name: int(conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0])
            for name in (*store_module.TABLES, *SQL_TABLES)
        }


def copy(source: Location, target: Location, *, force: bool = False) -> dict[str, int]:
    """Copy every table; returns the rows copied per table."""
    if source == target:
        raise UserError("the source and the target are the same store")
    with opened(source) as src, opened(target) as dst:
        for store in (src, dst):
            Claims(store.db)
            LookupThrottle(store.db)
        held = {name: n for name, n in _counts(dst).items() if n}
        if held and not force:
            listed = ", ".join(f"{name} {n}" for name, n in held.items())
            raise UserError(
                f"the target {dst.where} is not empty ({listed} rows): "
                "add --force to replace what it holds"
            )
        copied: dict[str, int] = {}
        columns = {name: ("key", "value") for name in store_module.TABLES} | SQL_TABLES
        for name, cols in columns.items():
            names = ", ".join(cols)
            with src.db.connection() as conn:
                rows = conn.execute(f'SELECT {names} FROM "{name}"').fetchall()
            with dst.db.transaction() as conn:
                conn.execute(f'DELETE FROM "{name}"')
                marks = ", ".join("?" for _ in cols)
                conn.executemany(f'INSERT INTO "{name}" ({names}) VALUES ({marks})', rows)
                dropped = 0
                if name == "meta":
                    flag = conn.execute('DELETE FROM "meta" WHERE key = ?', (_STALE_INDEX_FLAG,))
                    dropped = flag.rowcount
            copied[name] = len(rows) - dropped
        return copied

"""The store knows its version: migrations at open, once, under a lock; a newer store is refused."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import time as clock
from datetime import date, time
from pathlib import Path

import pytest

from paperpost.bot.catalog import migrations
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import STORE_FILENAME, Store
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.delivery.ledger import DeliveryState, Ledger
from paperpost.bot.errors import StoreVersionError

FIXTURE = Path(__file__).parent / "data" / "store-v0" / STORE_FILENAME
CHANNEL = ChannelKey.parse("slack:T0001:C0001")
DAY = date(2026, 8, 21)


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the store written by the code before schema versions existed."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(FIXTURE, folder / STORE_FILENAME)
    assert user_version(folder / STORE_FILENAME) == 0
    return folder


def test_a_store_written_before_versions_is_marked_and_keeps_every_record(old_store: Path) -> None:
    with Store(old_store) as store:
        assert store.schema_found == 0
        library = PaperLibrary(store)
        try:
            assert library.days() == [DAY]
            ids = ["2608.19880", "2608.18580", "2608.20335"]
            assert all(library.get(i) is not None for i in ids)
            assert [p.id for p in library.search("2608.19880")] == ["2608.19880"]
        finally:
            library.close()
        settings = ChannelRegistry(store).get(CHANNEL)
        assert (settings.post_time, settings.timezone) == (time(8, 30), "Europe/Berlin")
        assert (settings.top_n, settings.min_upvotes, settings.threads) == (3, 2, True)
        assert settings.subscriptions == ("agents", '"world model" OR robots')
        ledger = Ledger(store)
        entry = ledger.get(CHANNEL, DAY)
        assert entry is not None and entry.state is DeliveryState.SENT
        assert ledger.posted_ids(CHANNEL) == {"2608.19880", "2608.18580"}
        assert ledger.why(CHANNEL, "2608.19880") == (DAY, ["agents"])
    assert user_version(old_store / STORE_FILENAME) == migrations.SCHEMA_VERSION
    with Store(old_store) as again:  # idempotent: nothing left to run
        assert again.schema_found == migrations.SCHEMA_VERSION


def test_a_new_store_starts_at_the_current_version(tmp_path: Path) -> None:
    Store(tmp_path).close()
    assert user_version(tmp_path / STORE_FILENAME) == migrations.SCHEMA_VERSION


def test_a_newer_store_is_refused_in_one_line_and_left_untouched(old_store: Path) -> None:
    path = old_store / STORE_FILENAME
    newer = migrations.SCHEMA_VERSION + 1
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")
    before = path.read_bytes()
    with pytest.raises(StoreVersionError) as caught:
        Store(old_store)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message and "upgrade Paperpost" in message
    assert f"version {newer}" in message and f"up to {migrations.SCHEMA_VERSION}" in message
    assert path.read_bytes() == before


def _add_column(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE extra (n INTEGER)")
    conn.execute("INSERT INTO extra VALUES (1)")


def _half_then_fail(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE half (n INTEGER)")
    raise RuntimeError("migration bug")


def test_each_migration_runs_once_and_a_failed_one_leaves_the_previous_version(
    old_store: Path,
) -> None:
    path = old_store / STORE_FILENAME
    chain = (*migrations.MIGRATIONS, _add_column)
    assert migrations.migrate(path, migrations=chain) == 0
    assert migrations.migrate(path, migrations=chain) == len(chain)  # second run: a no-op
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM extra").fetchone() == (1,)
    with pytest.raises(RuntimeError):
        migrations.migrate(path, migrations=(*chain, _half_then_fail))
    assert user_version(path) == len(chain)
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "half" not in tables


def _slow_counted_migration(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS runs (n INTEGER)")
    conn.execute("INSERT INTO runs VALUES (1)")
    clock.sleep(0.05)  # widen the window two unlocked processes would share


def _migrate_in_process(folder: str) -> None:
    with migrations.exclusive_lock(Path(folder) / STORE_FILENAME):
        chain = (*migrations.MIGRATIONS, _slow_counted_migration)
        migrations.migrate(Path(folder) / STORE_FILENAME, migrations=chain)


def test_processes_opening_together_migrate_once(old_store: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_migrate_in_process, args=(str(old_store),)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    with sqlite3.connect(old_store / STORE_FILENAME) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)

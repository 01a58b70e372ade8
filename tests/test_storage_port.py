"""The storage port's contract, on both backends (``database_url``: SQLite in the data
folder, then a fresh database on the session's throwaway PostgreSQL)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import date
from pathlib import Path

import pytest

from paperpost.bot.catalog import store as store_module
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.claims import Claims, ClaimStatus
from paperpost.bot.errors import StoreError, StoreVersionError
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.postgres import PASSWORD, PostgresServer

DAY = date(2026, 8, 21)
ROOT = Path(__file__).resolve().parent.parent


def replica(tmp_path: Path, database_url: str | None, name: str) -> Store:
    """Another process's store: on SQLite the same folder, on PostgreSQL its own folder
    (replicas share the database, never the data folder)."""
    return Store(tmp_path / (name if database_url else "data"), database_url)


def test_tables_round_trip_exactly_and_commit_atomically(
    tmp_path: Path, database_url: str | None
) -> None:
    hostile = {"title": "nul\x00 and é ✓ \u2028", "z": 1, "a": [1.5, None, True]}
    with replica(tmp_path, database_url, "a") as one:
        papers = one.table("papers")
        papers["p1"] = hostile
        papers["p2"] = {"x": 1}
        assert papers["p1"] == hostile and "p2" in papers  # seen before commit
        assert dict(one.scan("papers")) == {}  # ...but not committed
        one.commit("papers")
        papers["p3"] = {"dropped": True}
        one.rollback("papers")
        assert "p3" not in papers
        del papers["p2"]
        one.commit("papers")
        with pytest.raises(KeyError):
            del papers["missing"]
    with replica(tmp_path, database_url, "b") as other:
        again = other.table("papers")
        assert dict(other.scan("papers")) == {"p1": hostile}
        assert list(again) == ["p1"] and len(again) == 1
        assert list(again["p1"]) == ["title", "z", "a"]  # key order kept (jsonb would sort)
        assert list(again.values()) == [hostile] and again.get("p2") is None


def test_every_table_the_store_declares_exists_on_both_backends(
    tmp_path: Path, database_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A colleague's new table is one name in TABLES: no DDL of its own, either backend."""
    monkeypatch.setattr(store_module, "TABLES", (*store_module.TABLES, "installations"))
    with replica(tmp_path, database_url, "a") as store:
        store.table("installations")["T1"] = {"bot": "x"}
        store.commit("installations")
        assert dict(store.scan("installations")) == {"T1": {"bot": "x"}}


def test_transactions_on_one_key_run_one_at_a_time(
    tmp_path: Path, database_url: str | None
) -> None:
    """Read-then-write in ``transaction(lock=KEY)``: no increment is lost across threads
    with connections of their own (PostgreSQL without the advisory lock loses some)."""
    workers, each = 4, 15
    stores = [replica(tmp_path, database_url, f"r{w}") for w in range(workers)]
    with stores[0].db.connection() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS counter (key TEXT PRIMARY KEY, n INTEGER)")
        conn.execute("INSERT INTO counter (key, n) VALUES ('c', 0)")
    start = threading.Barrier(workers)

    def work(store: Store) -> None:
        start.wait()
        for _ in range(each):
            with store.db.transaction(lock="counter:c") as conn:
                (n,) = conn.execute("SELECT n FROM counter WHERE key = ?", ("c",)).fetchone()
                conn.execute("UPDATE counter SET n = ? WHERE key = ?", (n + 1, "c"))

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with stores[0].db.connection() as conn:
        assert conn.execute("SELECT n FROM counter").fetchone()[0] == workers * each
    for s in stores:
        s.close()


def test_racing_replicas_claim_each_channel_exactly_once(
    tmp_path: Path, database_url: str | None
) -> None:
    channels = [ChannelKey("slack", "T1", f"C{i}") for i in range(24)]
    stores = [replica(tmp_path, database_url, f"r{w}") for w in range(3)]
    won: dict[ChannelKey, list[int]] = {c: [] for c in channels}
    start = threading.Barrier(len(stores))

    def race(worker: int, store: Store) -> None:
        claims = Claims(store.db)
        start.wait()
        for channel in channels:  # the same order: every claim contended
            if claims.claim(channel, DAY).status is ClaimStatus.CLAIMED:
                won[channel].append(worker)

    threads = [threading.Thread(target=race, args=(w, s)) for w, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(winners) == 1 for winners in won.values()), won
    for s in stores:
        s.close()


_WRITER = """
import sys, time
from paperpost.bot.catalog.store import Store
store = Store(sys.argv[1], sys.argv[2] or None)
ledger = store.table("ledger")
for i in range(20):
    ledger[f"k{i}"] = {"i": i}
    store.commit("ledger")
    print(i, flush=True)
with store.db.transaction(lock="held") as conn:
    conn.execute("INSERT INTO feedback (key, value) VALUES ('half', '{}')")
    print("open", flush=True)
    time.sleep(60)
"""


def test_a_kill_9_mid_transaction_loses_nothing_committed(
    tmp_path: Path, database_url: str | None
) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_WRITER), str(data), database_url or ""],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:  # until the transaction is open...
        lines.append(line.strip())
        if lines[-1] == "open":
            proc.send_signal(signal.SIGKILL)  # ...then kill -9
            break
    proc.wait()
    assert lines[-1] == "open", lines
    with Store(tmp_path / "after", database_url) if database_url else Store(data) as store:
        assert dict(store.scan("ledger")) == {f"k{i}": {"i": i} for i in range(20)}
        assert dict(store.scan("feedback")) == {}
        with store.db.transaction(lock="held") as conn:  # the dead holder's lock is free
            conn.execute("SELECT 1")


def test_a_replica_indexes_the_days_another_replica_stored(tmp_path: Path, pg_url: str) -> None:
    """Each replica keeps its own search index; a day stored by one reaches the others'
    (a mark removed by the first index to see it would never reach the second)."""
    papers = asyncio.run(BundledSnapshot().fetch_day(DAY))
    a_store, b_store = Store(tmp_path / "a", pg_url), Store(tmp_path / "b", pg_url)
    a, b = PaperLibrary(a_store), PaperLibrary(b_store)
    a.add_day(DAY, papers)
    word = papers[0].title.split()[0]
    assert papers[0].id in [p.id for p in a.search(f'title:"{word}"', limit=50)]
    assert b.index_pending() == len(papers)
    assert papers[0].id in [p.id for p in b.search(f'title:"{word}"', limit=50)]
    assert b.index_pending() == 0  # each mark once per index
    for library, store in ((a, a_store), (b, b_store)):
        library.close()
        store.close()
    with Store(tmp_path / "c", pg_url) as c_store:  # a new replica: rebuilt from the database
        c = PaperLibrary(c_store)
        assert c.check_index(repair=False).ok and c.index_pending() == 0
        c.close()


def test_a_singleton_lock_has_one_holder_until_released(
    tmp_path: Path, database_url: str | None
) -> None:
    with replica(tmp_path, database_url, "a") as a, replica(tmp_path, database_url, "b") as b:
        mine, theirs = a.db.singleton_lock("keeper"), b.db.singleton_lock("keeper")
        assert mine.try_acquire() and mine.try_acquire()  # again: still held
        assert not theirs.try_acquire()
        mine.release()
        assert theirs.try_acquire() and not mine.try_acquire()
        theirs.release()


def test_an_unreachable_server_or_a_wrong_password_is_one_line_without_the_password(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    wrong = postgres_server.url("postgres").replace(PASSWORD, "Wrong-Pass-77")
    for url, secret, what in (
        (f"postgresql://paperpost:Hidden-Pw-1@127.0.0.1:{closed}/db", "Hidden-Pw-1", "refused"),
        (wrong, "Wrong-Pass-77", "password authentication failed"),
    ):
        with pytest.raises(StoreError) as caught:
            Store(tmp_path, url)
        message = str(caught.value)
        assert "\n" not in message and secret not in message and PASSWORD not in message
        assert "127.0.0.1" in message and what in message and ":***@" in message


def test_the_schema_is_created_once_by_replicas_starting_together(
    tmp_path: Path, pg_url: str
) -> None:
    opened: list[Store] = []
    start = threading.Barrier(4)

    def open_one(n: int) -> None:
        start.wait()
        opened.append(Store(tmp_path / f"r{n}", pg_url))

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 4 and sorted(s.schema_found for s in opened)[1:] == [1, 1, 1]
    with opened[0].db.connection() as conn:
        conn.execute("UPDATE paperpost_schema SET version = 99")
    for s in opened:
        s.close()
    with pytest.raises(StoreVersionError, match="version 99"):
        Store(tmp_path / "newer", pg_url)

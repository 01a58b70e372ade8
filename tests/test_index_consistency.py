"""One writer for the search index, everyone else through the store.

Processes share a data folder: syncs, searches, a live service. Only the holder of the
index's write lock writes the index; the others mark the days they store, and the holder
indexes them. Afterwards every stored paper is in the index exactly once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from paperpost.bot.catalog.index import TantivyIndex
from paperpost.bot.catalog.index_documents import paper_document
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.papers.model import Paper, papers_from_hf_day
from tests.fakes.hf_server import FakeHFServer, as_day, load_day, load_days
from tests.scale import rounds
from tests.test_cli import paperpost

FIRST = date(2026, 5, 4)  # a Monday


def weekdays(n: int) -> list[date]:
    days, day = [], FIRST
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def fake_days(n: int) -> dict[str, list[dict[str, Any]]]:
    """``n`` weekdays of real records (real days re-dated, round-robin), each paper with
    an id of its own so that every day adds new papers."""
    real = list(load_days().values())
    days = {}
    for i, day in enumerate(weekdays(n)):
        items = as_day(real[i % len(real)], day)
        for j, item in enumerate(items):
            item["paper"]["id"] = f"{day:%y%m}.{i * 100 + j:05d}"
        days[day.isoformat()] = items
    return days


def stored_ids(data: Path) -> set[str]:
    with sqlite3.connect(data / "paperpost.sqlite") as conn:
        return {key for (key,) in conn.execute('SELECT key FROM "papers"')}


def index_counts(data: Path) -> dict[str, int]:
    """The on-disk index as it is, read without repairing anything."""
    reader = TantivyIndex.open_reader(data / "search-index")
    assert reader is not None, "no complete index on disk"
    with reader:
        return reader.doc_counts()


def assert_consistent(data: Path) -> None:
    ids, counts = stored_ids(data), index_counts(data)
    assert ids, "nothing was stored"
    assert sorted(pid for pid in ids if pid not in counts) == []  # missing
    assert sorted(pid for pid in counts if pid not in ids) == []  # extra
    assert {pid: n for pid, n in counts.items() if n != 1} == {}  # duplicated


@pytest.fixture
def library(tmp_path: Path) -> Iterator[PaperLibrary]:
    with Store(tmp_path / "data") as store:
        lib = PaperLibrary(store)
        yield lib
        lib.close()


def papers_of(day: str, as_of: date) -> list[Paper]:
    return papers_from_hf_day(as_day(load_day(day), as_of), requested_day=as_of)


# -- the race the issue reproduced ----------------------------------------------------------
def test_concurrent_syncs_and_a_search_loop_leave_every_paper_indexed_once(tmp_path: Path) -> None:
    n = rounds(small=10, full=40)  # weekdays synced
    days = fake_days(n)
    first, last = min(days), max(days)
    middle = weekdays(n)[n // 4].isoformat()
    with FakeHFServer(days) as hf, ThreadPoolExecutor(max_workers=3) as pool:
        env = {"HF_ENDPOINT": hf.url}
        for n in range(rounds(small=1, full=4)):
            data = tmp_path / f"round{n}"
            syncs = [
                pool.submit(
                    paperpost, "sync", "--since", first, "--until", last, data=data, env=env
                ),
                pool.submit(
                    paperpost, "sync", "--since", middle, "--until", last, data=data, env=env
                ),
            ]
            searches = 0
            while not all(s.done() for s in syncs) or searches == 0:
                found = paperpost("search", "model", "--json", data=data, env=env)
                assert found.returncode in (0, 2), found.stderr  # 2: nothing stored yet
                searches += 1
            for sync in syncs:
                result = sync.result()
                assert result.returncode == 0, result.stderr
            assert_consistent(data)
            for pid in sorted(stored_ids(data))[:: max(1, len(stored_ids(data)) // 3)][:3]:
                shown = paperpost("show", pid, "--json", data=data)
                assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == pid


# -- a sync beside a live library ----------------------------------------------------------
def test_a_sync_beside_the_index_writer_is_indexed_by_it_never_twice(
    tmp_path: Path, library: PaperLibrary
) -> None:
    assert library.is_index_writer
    data = tmp_path / "data"
    day = weekdays(1)[0]
    with FakeHFServer({day.isoformat(): as_day(load_day("2026-04-16"), day)}) as hf:
        for refresh in (False, True):  # a sync, then a refresh of the same day
            synced = paperpost(
                "sync", "--date", day.isoformat(), data=data, env={"HF_ENDPOINT": hf.url}
            )
            assert synced.returncode == 0, synced.stderr
            if not refresh:
                assert library.index.doc_counts() == {}  # the sync did not write the index
            assert library.index_pending() == 22
            assert library.index_pending() == 0  # cheap and idempotent
            assert_consistent(data)
    pid = load_day("2026-04-16")[0]["paper"]["id"]
    shown = paperpost("show", pid, "--json", data=data)  # a reader sees the writer's commits
    assert shown.returncode == 0, shown.stderr
    library.close()
    with Store(data) as store:  # a restart: still one document per paper
        again = PaperLibrary(store)
        assert again.check_index().ok
        again.close()
    assert_consistent(data)


def test_a_reader_sees_the_writers_new_day_without_reopening(
    tmp_path: Path, library: PaperLibrary
) -> None:
    library.add_day(date(2026, 4, 16), papers_of("2026-04-16", date(2026, 4, 16)))
    with Store(tmp_path / "data") as store:
        reader = PaperLibrary(store)  # the writer holds the lock: this one only reads
        assert not reader.is_index_writer
        assert reader.search("2608.19880") == []
        library.add_day(date(2026, 8, 21), papers_of("2026-08-21", date(2026, 8, 21)))
        assert [p.id for p in reader.search("2608.19880")] == ["2608.19880"]
        reader.add_day(date(2026, 7, 15), papers_of("2026-07-15", date(2026, 7, 15)))
        assert reader.search("since:2026-07-15 before:2026-07-16") == []  # not indexed by it
        report = reader.check_index()  # a reader reports, only the writer repairs
        assert not report.writer and not report.repaired and report.pending_days == 1
        assert report.ok  # the two unindexed papers are waiting, not lost
        assert "another process writes the index" in str(report)
        assert library.index_pending() == 2
        assert len(reader.search("since:2026-07-15 before:2026-07-16")) == 2
        reader.close()


def test_the_last_writer_to_stop_indexes_what_others_marked(
    tmp_path: Path, library: PaperLibrary
) -> None:
    with Store(tmp_path / "data") as store:
        other = PaperLibrary(store)
        other.add_day(date(2026, 7, 15), papers_of("2026-07-15", date(2026, 7, 15)))
        other.close()  # could not take the lock: leaves the day marked
        library.close()  # the writer stops: indexes it before letting go
    assert_consistent(tmp_path / "data")


# -- the consistency check --------------------------------------------------------------------
def test_check_index_finds_and_repairs_missing_extra_and_duplicated(
    tmp_path: Path, library: PaperLibrary
) -> None:
    papers = papers_of("2026-04-16", date(2026, 4, 16))
    library.add_day(date(2026, 4, 16), papers)
    index = library.index
    index.delete([papers[0].id])  # missing
    index.upsert([Paper("2601.00001", "Ghost", "", (), (date(2026, 1, 5),))])  # extra
    writer = index._index.writer(heap_size=15_000_000, num_threads=1)  # duplicated
    writer.add_document(paper_document(index._schema, papers[1]))
    writer.commit()
    writer.wait_merging_threads()

    report = library.check_index()

    assert (report.missing, report.extra, report.duplicated) == (1, 1, 1)
    assert report.repaired and report.writer and "repaired" in str(report)
    assert library.check_index().ok
    assert_consistent(tmp_path / "data")


def test_a_store_not_known_consistent_is_checked_and_repaired_at_open(
    tmp_path: Path, library: PaperLibrary
) -> None:
    papers = papers_of("2026-04-16", date(2026, 4, 16))
    library.add_day(date(2026, 4, 16), papers)
    writer = library.index._index.writer(heap_size=15_000_000, num_threads=1)
    for paper in papers[:5]:  # duplicates, as the old code left them
        writer.add_document(paper_document(library.index._schema, paper))
    writer.commit()
    writer.wait_merging_threads()
    library.close()
    with sqlite3.connect(tmp_path / "data" / "paperpost.sqlite") as conn:  # an old store
        conn.execute('DELETE FROM "meta" WHERE key = ?', ("index_consistent",))
    with Store(tmp_path / "data") as store:
        PaperLibrary(store).close()
    assert_consistent(tmp_path / "data")


HOLDER = """
import sys
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
library = PaperLibrary(Store(sys.argv[1]))
print("writer" if library.is_index_writer else "reader", flush=True)
sys.stdin.readline()
# exits without closing, as a CLI command does
"""


def test_a_process_exiting_without_close_indexes_what_others_marked(tmp_path: Path) -> None:
    data = tmp_path / "data"
    day = weekdays(1)[0]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "writer"
        with FakeHFServer({day.isoformat(): as_day(load_day("2026-04-16"), day)}) as hf:
            synced = paperpost(
                "sync", "--date", day.isoformat(), data=data, env={"HF_ENDPOINT": hf.url}
            )
        assert synced.returncode == 0, synced.stderr
        assert index_counts(data) == {}  # marked, not indexed: the writer is busy elsewhere
    finally:
        holder.communicate("exit\n", timeout=60)
    assert holder.returncode == 0
    assert_consistent(data)


def test_a_failed_index_update_keeps_the_day_marked_and_is_retried(
    tmp_path: Path, library: PaperLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(papers: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(library.index, "upsert", broken)
    library.add_day(date(2026, 7, 15), papers_of("2026-07-15", date(2026, 7, 15)))
    assert library.has_day(date(2026, 7, 15)) and library.index.doc_counts() == {}
    assert library.index_pending() == 0  # still failing: the mark stays
    monkeypatch.undo()
    assert library.index_pending() == 2
    assert_consistent(tmp_path / "data")


KILLED_WRITER = """
import os, sys
from datetime import date
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.papers.model import Paper
library = PaperLibrary(Store(sys.argv[1]))
for n in range(1, 1000):
    day = date(2026, 1, 1) + __import__("datetime").timedelta(days=n)
    papers = [Paper(f"{day:%y%m}.{n * 100 + i:05d}", "T", "A", ("X",), (day,)) for i in range(40)]
    library.add_day(day, papers)
    if n == 1:
        print("ready", flush=True)
"""


def test_a_writer_killed_mid_day_leaves_nothing_unindexed_after_the_next_open(
    tmp_path: Path,
) -> None:
    for n in range(rounds(small=2, full=20)):
        data = tmp_path / f"kill{n}"
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(data)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        subprocess.run(["sleep", f"{0.05 + 0.07 * n}"], check=True)
        proc.kill()
        proc.wait()
        with Store(data) as store:
            PaperLibrary(store).close()  # the next process to open it
        assert_consistent(data)

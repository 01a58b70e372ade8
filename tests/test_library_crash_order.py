"""A crash between the commits of ``PaperLibrary.add_day`` leaves the day absent or
whole, never half there.

Deterministic: the store's ``commit`` raises at the k-th call inside ``add_day``
(the writes of that commit and after it are lost, as in a kill), for every k;
then the store is reopened as the next process would.
"""

from __future__ import annotations

import contextlib
import json
from datetime import date
from importlib import resources
from pathlib import Path

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.papers.model import Paper, papers_from_hf_day

EARLIER, DAY = date(2026, 8, 20), date(2026, 8, 21)


class Crash(Exception):
    """The process died here."""


def bundled(day: date) -> list[Paper]:
    name = f"{day.isoformat()}.json"
    raw = resources.files("paperpost.bot.papers").joinpath("snapshot_days", name).read_text()
    return papers_from_hf_day(json.loads(raw), requested_day=day)


class CrashingCommits:
    """Stands in for ``store.commit``: lets ``survive`` commits through, then raises."""

    def __init__(self, store: Store, survive: int) -> None:
        self._commit = store.commit
        self.survive = survive
        self.calls = 0

    def __call__(self, *names: str) -> None:
        self.calls += 1
        if self.calls > self.survive:
            raise Crash(f"killed at commit {self.calls} {names}")
        self._commit(*names)


def add_day_crashing(folder: Path, survive: int) -> int:
    """Store EARLIER cleanly, then DAY with commits failing after ``survive``; returns
    how many commits ``add_day`` attempted."""
    store = Store(folder)
    library = PaperLibrary(store)
    library.add_day(EARLIER, bundled(EARLIER))
    commits = CrashingCommits(store, survive)
    store.commit = commits  # type: ignore[method-assign]
    try:
        library.add_day(DAY, bundled(DAY))
    except Crash:
        pass
    finally:
        library.close()
        store.close()  # commits nothing (autocommit is off): the uncommitted writes are lost
    return commits.calls


def commits_in_add_day(tmp_path: Path) -> int:
    return add_day_crashing(tmp_path / "count", survive=10**6)


def test_a_crash_at_any_commit_of_add_day_leaves_the_day_absent_or_whole(tmp_path: Path) -> None:
    total = commits_in_add_day(tmp_path)
    assert total >= 1
    expected = {p.id for p in bundled(DAY)}
    outcomes = []
    for survive in range(total):
        folder = tmp_path / f"crash-{survive}"
        add_day_crashing(folder, survive)
        with Store(folder) as store:
            library = PaperLibrary(store)
            try:
                assert library.has_day(EARLIER)
                if library.has_day(DAY):
                    on_day = library.papers_on(DAY)
                    assert {p.id for p in on_day} == expected, f"half a day after commit {survive}"
                    assert all(DAY in p.featured_days for p in on_day)
                    # Whole in the index too (rebuilt at open when the crash left it unclean).
                    top = max(on_day, key=lambda p: p.upvotes)
                    assert [p.id for p in library.search(top.id)] == [top.id]
                    outcomes.append("whole")
                else:
                    outcomes.append("absent")
            finally:
                library.close()
    assert outcomes[0] == "absent"  # the first commit alone does not store the day
    assert outcomes.count("absent") >= 1


def test_a_failed_add_day_leaves_no_write_lock_behind(tmp_path: Path) -> None:
    """The writes of a failed day are rolled back at once, so other connections
    (other processes, the index bookkeeping) are not kept waiting on SQLite's lock."""
    import sqlite3

    store = Store(tmp_path)
    library = PaperLibrary(store)
    store.commit = CrashingCommits(store, survive=0)  # type: ignore[method-assign]
    with contextlib.suppress(Crash):
        library.add_day(DAY, bundled(DAY))
    other = sqlite3.connect(store.path, timeout=0.2)
    try:
        other.execute("BEGIN IMMEDIATE")  # 'database is locked' if the day's writes linger
        other.rollback()
    finally:
        other.close()
        library.close()
        store.close()

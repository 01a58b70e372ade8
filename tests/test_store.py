"""The store: JSON on disk, survives restarts and kills, refuses a corrupt file."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.errors import StoreError
from paperpost.bot.papers.model import Paper


def paper(pid: str, day: date, upvotes: int = 1) -> Paper:
    return Paper(pid, f"Title {pid}", "Abstract", ("Ada Lovelace",), (day,), upvotes=upvotes)


def test_values_are_json_not_pickle(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        library = PaperLibrary(store)
        library.add_day(date(2026, 8, 21), [paper("2608.00001", date(2026, 8, 21))])
        library.close()
    with sqlite3.connect(tmp_path / "paperpost.sqlite") as conn:
        (blob,) = conn.execute(
            'SELECT value FROM "papers" WHERE key = ?', ("2608.00001",)
        ).fetchone()
    assert json.loads(blob)["title"] == "Title 2608.00001"


def test_survives_restart_and_merges_refeatured_papers(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        library = PaperLibrary(store)
        library.add_day(date(2026, 4, 10), [paper("2604.07429", date(2026, 4, 10), upvotes=2)])
        library.close()
    with Store(tmp_path) as store:
        library = PaperLibrary(store)
        library.add_day(date(2026, 4, 16), [paper("2604.07429", date(2026, 4, 16), upvotes=42)])
        stored = library.get("2604.07429")
        assert stored is not None
        assert stored.featured_days == (date(2026, 4, 10), date(2026, 4, 16))
        assert stored.upvotes == 42
        assert library.paper_count() == 1
        assert library.days() == [date(2026, 4, 10), date(2026, 4, 16)]
        assert [p.id for p in library.search("title")] == ["2604.07429"]
        library.close()


def test_index_is_rebuilt_from_the_store_when_missing(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        library = PaperLibrary(store)
        library.add_day(date(2026, 8, 21), [paper("2608.00001", date(2026, 8, 21))])
        library.close()
    shutil.rmtree(tmp_path / "search-index")
    with Store(tmp_path) as store:
        library = PaperLibrary(store)
        assert [p.id for p in library.search("lovelace")] == ["2608.00001"]
        library.close()


def test_corrupt_store_names_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "paperpost.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError) as caught:
        Store(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "paperpost.sqlite") in message
    assert "backup" in message and "mv " in message
    # and nothing was reset behind the user's back
    assert (tmp_path / "paperpost.sqlite").read_bytes().startswith(b"this is not")


KILLER = textwrap.dedent(
    """
    import os, sys
    from datetime import date
    from paperpost.bot.catalog.library import PaperLibrary
    from paperpost.bot.papers.model import Paper
    from paperpost.bot.catalog.store import Store
    library = PaperLibrary(Store(sys.argv[1]))
    day = date(2026, 8, 21)
    papers = [Paper(f"2608.{i:05d}", f"T{i}", "A", ("X",), (day,), upvotes=i) for i in range(300)]
    library.add_day(date(2026, 8, 20), papers[:5])
    print("ready", flush=True)
    library.add_day(day, papers)   # killed somewhere in here
    os._exit(0)
    """
)


def test_kill_mid_write_leaves_no_half_day(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    for delay in (0.0, 0.02, 0.05, 0.1):
        data = tmp_path / f"run{delay}"
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLER, str(data)], stdout=subprocess.PIPE, env=env
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        if delay:
            subprocess.run(["sleep", str(delay)], check=True)
        proc.kill()
        proc.wait()
        with Store(data) as store:
            library = PaperLibrary(store)
            assert library.has_day(date(2026, 8, 20))
            if library.has_day(date(2026, 8, 21)):  # all of the day, or none of it
                assert len(library.papers_on(date(2026, 8, 21))) == 300
            library.close()

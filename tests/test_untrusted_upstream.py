"""Untrusted upstream, item by item: a bad item is skipped and logged, never its day;
absurd numbers are clamped, text is capped; nothing stored can break a command later."""

from __future__ import annotations

import copy
import json
import logging
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from paperpost.bot.catalog.index import TantivyIndex
from paperpost.bot.papers.model import (
    MAX_ABSTRACT,
    MAX_AUTHORS,
    MAX_COUNT,
    MAX_NAME,
    MAX_TITLE,
    Paper,
    papers_from_hf_day,
)
from tests.fakes.hf_server import FakeHFServer, as_day, load_day
from tests.test_cli import paperpost

DAY = date(2026, 8, 21)
GOOD = load_day("2026-08-21")  # 17 real papers
# 23 distinct real papers, as one day
GOOD_23 = as_day(load_day("2026-04-16") + load_day("2026-07-15")[:1], "2026-08-20")


def one(**paper_fields: Any) -> dict[str, Any]:
    """A real item with some ``paper`` fields replaced (None: removed)."""
    item = copy.deepcopy(GOOD[0])
    for name, value in paper_fields.items():
        if value is None:
            item["paper"].pop(name, None)
        else:
            item["paper"][name] = value
    return item


def parse(*items: Any) -> list[Paper]:
    return papers_from_hf_day([*items, GOOD[1]], requested_day=DAY)[:-1]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"id": 123}, "paper id is int"),
        ({"id": None}, "paper id is NoneType"),
        ({"id": "../../etc/passwd"}, "not an arXiv id"),
        ({"id": "2608.19880 OR x"}, "not an arXiv id"),
        ({"upvotes": True}, "upvotes is bool"),
        ({"upvotes": "12"}, "upvotes is str"),
        ({"upvotes": 1.5}, "upvotes is float"),
        ({"title": ["x"]}, "has no title"),
        ({"authors": "Ada"}, "malformed authors"),
    ],
)
def test_a_bad_item_is_skipped_with_one_warning_naming_day_and_reason(
    fields: dict[str, Any], why: str, caplog: pytest.LogCaptureFixture
) -> None:
    item = one(**fields)
    if "title" in fields:
        item["title"] = None  # no top-level fallback either
    with caplog.at_level(logging.WARNING, logger="paperpost.bot.papers.model"):
        assert parse(item) == []
    [record] = caplog.records
    assert "2026-08-21" in record.getMessage() and why in record.getMessage()


def test_23_good_papers_and_one_malformed_item_keep_the_23() -> None:
    papers = papers_from_hf_day([*GOOD_23, {"paper": {"id": 123}}], requested_day=DAY)
    assert len(GOOD_23) == len(papers) == 23


def test_numbers_are_clamped_and_optional_junk_left_out() -> None:
    [paper] = parse(
        one(upvotes=10**30, githubStars=True, id="2608.19880v3", projectPage="javascript:x()")
    )
    assert paper.upvotes == MAX_COUNT and paper.id == "2608.19880"
    assert paper.github_stars is None and paper.project_page is None
    [negative] = parse(one(upvotes=-5))
    assert negative.upvotes == 0
    [old_style] = parse(one(id="cs/0112017"))
    assert old_style.id == "cs/0112017"


def test_text_and_lists_are_capped() -> None:
    authors = [{"name": "N" * 10_000}] * (MAX_AUTHORS + 500)
    [paper] = parse(one(title="T " * 50_000, summary="a " * 100_000, authors=authors))
    assert len(paper.title) <= MAX_TITLE and len(paper.abstract) <= MAX_ABSTRACT
    assert len(paper.authors) == MAX_AUTHORS and len(paper.authors[0]) == MAX_NAME


def test_an_old_store_record_with_an_absurd_number_loads_and_indexes() -> None:
    stored = Paper("2608.00001", "T", "A", ("X",), (DAY,)).to_json()
    stored |= {"upvotes": 10**30, "num_comments": True, "github_stars": -3}
    paper = Paper.from_json(stored)
    assert (paper.upvotes, paper.num_comments, paper.github_stars) == (MAX_COUNT, 0, 0)
    with TantivyIndex() as index:
        index.upsert([paper, Paper("2608.00002", "T", "A", ("X",), (DAY,), upvotes=10**30)])
        assert {h.paper_id for h in index.search("upvotes:>=1000")} == {"2608.00001", "2608.00002"}


# -- end to end: the CLI as a user runs it, against the loopback fake --------------------
def poisoned_day() -> list[dict[str, Any]]:
    items = as_day(load_day("2026-08-21"), DAY)
    items[0]["paper"]["upvotes"] = 10**30
    items[1]["paper"]["upvotes"] = True
    return items


def test_a_poisoned_and_a_malformed_day_leave_every_command_working(tmp_path: Path) -> None:
    poisoned = poisoned_day()
    days = {"2026-08-20": [*GOOD_23, {"paper": {"id": 123}}]}
    days["2026-08-21"] = poisoned
    with FakeHFServer(days) as hf:
        env = {"HF_ENDPOINT": hf.url}
        first = paperpost(
            "sync", "--since", "2026-08-20", "--until", "2026-08-21", data=tmp_path, env=env
        )
        assert first.returncode == 0, first.stderr
        assert f"synced 2 days, {23 + len(poisoned) - 1} papers" in first.stdout
        again = paperpost("sync", "--date", "2026-08-21", data=tmp_path, env=env)
        assert again.returncode == 0, again.stderr

    huge = poisoned[0]["paper"]["id"]
    show = paperpost("show", huge, "--json", data=tmp_path)
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["upvotes"] == MAX_COUNT
    found = paperpost("search", "upvotes:>=1000000", "--json", data=tmp_path)
    assert found.returncode == 0, found.stderr
    assert [p["id"] for p in json.loads(found.stdout)] == [huge]
    every = paperpost("search", "since:2026-08-20", "--json", "--limit", "100", data=tmp_path)
    assert len(json.loads(every.stdout)) == 23 + len(poisoned) - 1
    assert poisoned[1]["paper"]["id"] not in every.stdout  # upvotes: true was skipped


def test_a_store_written_before_validation_still_loads_and_indexes(tmp_path: Path) -> None:
    with FakeHFServer({"2026-08-21": GOOD}) as hf:
        synced = paperpost(
            "sync", "--date", "2026-08-21", data=tmp_path, env={"HF_ENDPOINT": hf.url}
        )
    assert synced.returncode == 0, synced.stderr
    victim = GOOD[0]["paper"]["id"]
    with sqlite3.connect(tmp_path / "paperpost.sqlite") as conn:  # what old code could store
        (raw,) = conn.execute('SELECT value FROM "papers" WHERE key = ?', (victim,)).fetchone()
        record = json.loads(raw) | {"upvotes": 10**30}
        conn.execute('UPDATE "papers" SET value = ? WHERE key = ?', (json.dumps(record), victim))
    for f in (tmp_path / "search-index").iterdir():  # the index is rebuilt from the store
        f.unlink()
    found = paperpost("search", "upvotes:>=1000000", "--json", data=tmp_path)
    assert found.returncode == 0, found.stderr
    assert [p["id"] for p in json.loads(found.stdout)] == [victim]

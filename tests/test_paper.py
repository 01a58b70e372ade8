"""The paper model against real recorded Hugging Face days, every schema."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from paperpost.bot.errors import SourceFormatError
from paperpost.bot.papers.model import Paper, papers_from_hf_day

DATA = Path(__file__).parent / "data"


def load(path: Path) -> list[Paper]:
    return papers_from_hf_day(
        json.loads(path.read_text()), requested_day=date.fromisoformat(path.stem)
    )


def all_days() -> list[Path]:
    return sorted((DATA / "hf_daily_papers").glob("*.json")) + sorted(
        (DATA / "older_schema").glob("*.json")
    )


@pytest.mark.parametrize("path", all_days(), ids=lambda p: p.stem)
def test_every_recorded_day_normalises_and_round_trips(path: Path) -> None:
    papers = load(path)
    assert papers
    for paper in papers:
        assert paper.title and "\n" not in paper.abstract
        assert paper.arxiv_url == f"https://arxiv.org/abs/{paper.id}"
        assert paper.pdf_url == f"https://arxiv.org/pdf/{paper.id}"
        assert paper.hf_url == f"https://huggingface.co/papers/{paper.id}"
        assert Paper.from_json(json.loads(json.dumps(paper.to_json()))) == paper


def test_older_schema_without_submitted_on_daily_uses_requested_day() -> None:
    papers = load(DATA / "older_schema" / "2024-06-12.json")
    assert {p.featured_days for p in papers} == {(date(2024, 6, 12),)}
    assert all(p.ai_summary is None and p.organization is None for p in papers)
    assert all(p.summary == p.abstract for p in papers)  # falls back to the abstract


def test_optional_fields_are_read_when_present() -> None:
    items = json.loads((DATA / "hf_daily_papers" / "2026-08-21.json").read_text())
    raw = items[0]
    paper = papers_from_hf_day(items, requested_day=date(2026, 8, 21))[0]
    assert paper.id == raw["paper"]["id"]
    assert paper.upvotes == raw["paper"]["upvotes"]
    assert paper.organization == raw["paper"]["organization"]["fullname"]
    assert paper.github_repo == raw["paper"]["githubRepo"]
    assert paper.ai_keywords == tuple(raw["paper"]["ai_keywords"])
    assert paper.featured_days == (date(2026, 8, 21),)
    assert paper.published_on == date(2026, 8, 20)


def test_refeatured_paper_merges_days_and_takes_latest_upvotes() -> None:
    first = Paper("2604.07429", "T", "A", ("X",), (date(2026, 4, 10),), upvotes=2)
    later = Paper("2604.07429", "T", "A", ("X",), (date(2026, 4, 16),), upvotes=42)
    merged = first.merged_with(later)
    assert merged.featured_days == (date(2026, 4, 10), date(2026, 4, 16))
    assert merged.upvotes == 42


@pytest.mark.parametrize(
    "payload", [{"error": "x"}, [1, 2], [{"paper": {"title": "no id"}}], [{"paper": "x"}]]
)
def test_a_day_with_no_usable_item_fails_whole(payload: object) -> None:
    with pytest.raises(SourceFormatError, match="2026-08-21"):
        papers_from_hf_day(payload, requested_day=date(2026, 8, 21))

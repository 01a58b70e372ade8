"""The FTS5 search index (the benchmark baseline, keyword-only: no word forms, no acronyms):
agreement with the reference matcher's keyword-only meaning, ranking, upserts, rebuilds."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from fts5_index import SearchIndex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperpost.bot.catalog.index import SearchHit, TantivyIndex
from paperpost.bot.catalog.query import parse_query
from paperpost.bot.catalog.query_match import matches, paper_text
from paperpost.bot.errors import QueryError
from paperpost.bot.papers.model import Paper, papers_from_hf_day

DATA = Path(__file__).parent / "data" / "hf_daily_papers"
DAYS = ("2026-04-10", "2026-04-16", "2026-08-21")


def load_real() -> list[Paper]:
    papers: dict[str, Paper] = {}
    for day in DAYS:
        items = json.loads((DATA / f"{day}.json").read_text("utf-8"))
        for p in papers_from_hf_day(items, requested_day=date.fromisoformat(day)):
            papers[p.id] = papers[p.id].merged_with(p) if p.id in papers else p
    return list(papers.values())


REAL = load_real()


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    idx = SearchIndex()
    idx.upsert(REAL)
    return idx


def make(pid: str, **kw: object) -> Paper:
    base: dict[str, object] = {
        "id": pid,
        "title": "Untitled",
        "abstract": "Nothing to see here.",
        "authors": ("Ada Lovelace",),
        "featured_days": (date(2026, 3, 10),),
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.paper_id for h in hits]


AGREEMENT_QUERIES = [
    "model",
    "agent",
    "agent learning",
    '"world model"',
    "video OR audio generation",
    "(reasoning OR thinking) -survey",
    "diffu*",
    "bench*",
    '"large lang"*',
    "vision-language",
    'author:"zifeng wang"',
    'author:"huang zifeng"',
    "author:wang -author:zhang",
    "org:google",
    "org:Tencent-Hunyuan",
    'org:"ant research"',
    "title:agent",
    'title:"world model"',
    "title:bench* -video",
    "upvotes:>=30",
    "upvotes:<3 model",
    "upvotes:=42",
    "-upvotes:<40 agent",
    "since:2026-04-16",
    "before:2026-04-11",
    "since:2026-04-11 before:2026-04-17",
    "-since:2026-04-16 model",
    "-before:2026-04-16 agent",
    "since:2026-08-21 -org:google",
    "2608.19880",
    "https://arxiv.org/pdf/2604.07429v2.pdf",
    "2608.19880 OR 2604.07429",
    "zzqxjv",
    "upvotes:>=100000",
    "since:2030-01-01",
    "before:2000-01-01 model",
    "Müller OR naïve",
]


def _forms(index: object) -> bool:
    """The product's tantivy index (these tests run on it too) knows word forms and
    acronyms; the FTS5 baseline engine is keyword-only."""
    return isinstance(index, TantivyIndex)


@pytest.mark.parametrize("text", AGREEMENT_QUERIES)
def test_index_agrees_with_reference_matcher(index: SearchIndex, text: str) -> None:
    q = parse_query(text)
    expected = {p.id for p in REAL if matches(q, p, forms=_forms(index))}
    assert {h.paper_id for h in index.search(q, limit=None)} == expected
    top = index.search(q, limit=5)
    assert len(top) == min(5, len(expected))
    assert set(ids(top)) <= expected


def test_ids_and_urls_find_the_paper(index: SearchIndex) -> None:
    for text in (
        "2608.19880",
        "2608.19880v2",
        "arXiv:2608.19880",
        "https://arxiv.org/abs/2608.19880",
        "arxiv.org/pdf/2608.19880v1.pdf",
        "https://www.huggingface.co/papers/2608.19880",
    ):
        assert ids(index.search(parse_query(text))) == ["2608.19880"], text


def test_author_cannot_span_two_authors(index: SearchIndex) -> None:
    assert "2608.19880" in ids(index.search(parse_query('author:"zifeng wang"')))
    assert index.search(parse_query('author:"huang zifeng"')) == []


def test_refeatured_paper_is_one_row_with_both_days(index: SearchIndex) -> None:
    hits = index.search(parse_query("2604.07429"))
    assert ids(hits) == ["2604.07429"]
    assert ids(index.search(parse_query("2604.07429 before:2026-04-11"))) == ["2604.07429"]
    assert ids(index.search(parse_query("2604.07429 since:2026-04-16"))) == ["2604.07429"]
    assert index.count() == len(REAL)


def test_search_accepts_text_and_limits(index: SearchIndex) -> None:
    assert len(index.search("model", limit=3)) == 3
    assert index.search("model", limit=0) == []
    with pytest.raises(QueryError):
        index.search("cat:cs.CL")


# -- ranking ----------------------------------------------------------------------


def test_more_upvotes_win_among_equally_relevant() -> None:
    idx = SearchIndex()
    idx.upsert(
        [
            make("2601.00001", title="Sparse attention", upvotes=3),
            make("2601.00002", title="Sparse attention", upvotes=90),
            make("2601.00003", title="Sparse attention", upvotes=12),
        ]
    )
    hits = idx.search(parse_query("attention"))
    assert ids(hits) == ["2601.00002", "2601.00003", "2601.00001"]
    assert hits[0].score > hits[1].score > hits[2].score > 0


def test_title_match_beats_abstract_only_match() -> None:
    idx = SearchIndex()
    idx.upsert(
        [
            make(
                "2601.00001",
                title="Robots",
                abstract="We study a tokenizer for speech.",
                upvotes=40,
            ),
            make("2601.00002", title="A better tokenizer", abstract="We study robots.", upvotes=10),
        ]
    )
    assert ids(idx.search(parse_query("tokenizer"))) == ["2601.00002", "2601.00001"]


def test_filter_only_queries_rank_by_upvotes(index: SearchIndex) -> None:
    hits = index.search(parse_query("since:2026-08-21"), limit=None)
    by_id = {p.id: p for p in REAL}
    upvotes = [by_id[h.paper_id].upvotes for h in hits]
    assert upvotes == sorted(upvotes, reverse=True)
    assert len(hits) == 17


def test_broad_query_beyond_rank_window(monkeypatch: pytest.MonkeyPatch) -> None:
    import fts5_index as search_index

    monkeypatch.setattr(search_index, "RANK_WINDOW", 5)
    idx = SearchIndex()
    papers = [make(f"2601.{i:05d}", title=f"Model {i}", upvotes=i) for i in range(1, 40)]
    idx.upsert(papers)
    hits = idx.search(parse_query("model"), limit=3)
    assert ids(hits) == ["2601.00039", "2601.00038", "2601.00037"]
    assert len(idx.search(parse_query("model"), limit=None)) == 39


# -- upserts ------------------------------------------------------------------------


def test_upsert_replaces_and_changes_ranking() -> None:
    idx = SearchIndex()
    a = make("2601.00001", title="Graph transformers", upvotes=5)
    b = make("2601.00002", title="Graph transformers", upvotes=9)
    idx.upsert([a, b])
    assert ids(idx.search(parse_query("graph"))) == ["2601.00002", "2601.00001"]
    idx.upsert([dataclasses.replace(a, upvotes=50)])
    assert idx.count() == 2
    assert ids(idx.search(parse_query("graph"))) == ["2601.00001", "2601.00002"]
    assert ids(idx.search(parse_query("graph upvotes:>=50"))) == ["2601.00001"]
    idx.upsert(
        [a.merged_with(dataclasses.replace(a, upvotes=60, featured_days=(date(2026, 5, 1),)))]
    )
    assert idx.count() == 2
    assert ids(idx.search(parse_query("graph since:2026-05-01"))) == ["2601.00001"]
    # new text replaces the old text everywhere
    idx.upsert([dataclasses.replace(a, title="Hypergraph networks", upvotes=60)])
    assert ids(idx.search(parse_query("transformers"))) == ["2601.00002"]
    assert ids(idx.search(parse_query("hypergraph"))) == ["2601.00001"]
    assert idx.count() == 2


def test_upsert_same_batch_duplicates_and_unchanged_papers() -> None:
    idx = SearchIndex()
    a = make("2601.00001", title="Kernels", upvotes=1)
    idx.upsert([a, dataclasses.replace(a, upvotes=7), a.merged_with(a)])
    assert idx.count() == 1
    idx.upsert([a])
    idx.upsert([a])
    assert idx.count() == 1
    assert ids(idx.search(parse_query("kernels"))) == ["2601.00001"]


def test_small_per_day_index(index: SearchIndex) -> None:
    day = [p for p in REAL if date(2026, 8, 21) in p.featured_days]
    idx = SearchIndex()
    idx.upsert(day)
    assert idx.count() == len(day)
    assert ids(idx.search(parse_query("org:google agent"), limit=None)) == ["2608.19880"]
    idx.close()


# -- persistence ------------------------------------------------------------------------


def test_open_rebuilds_when_missing_then_reuses(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite"
    calls = []

    def load() -> list[Paper]:
        calls.append(1)
        return REAL

    idx = SearchIndex.open(path, load)
    assert idx.count() == len(REAL) and len(calls) == 1
    idx.close()
    idx = SearchIndex.open(path, load)
    assert len(calls) == 1  # reused, not rebuilt
    assert ids(idx.search(parse_query("2608.19880"))) == ["2608.19880"]
    idx.upsert([make("2601.00001", title="Zqpersisted", upvotes=3)])
    idx.close()
    idx = SearchIndex.open(path, load)
    assert ids(idx.search(parse_query("zqpersisted"))) == ["2601.00001"]
    assert len(calls) == 1
    idx.close()


def test_open_rebuilds_empty_corrupt_or_old_schema(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite"
    path.write_bytes(b"")
    idx = SearchIndex.open(path, lambda: REAL)
    assert idx.count() == len(REAL)
    idx.close()

    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE search_meta SET value = 'old' WHERE key = 'schema_version'")
    conn.close()
    idx = SearchIndex.open(path, lambda: REAL[:3])
    assert idx.count() == 3
    idx.close()

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    idx = SearchIndex.open(path, lambda: REAL[:2])
    assert idx.count() == 2
    idx.close()


def test_bulk_load_path(tmp_path: Path) -> None:
    """More than one batch: bulk mode (no fsync, no merging, optimize at the end)."""
    import fts5_index as search_index

    papers = [make(f"2601.{i:05d}", title=f"Topic {i % 7}", upvotes=i % 13) for i in range(12000)]
    idx = SearchIndex(tmp_path / "bulk.sqlite")
    idx.upsert(iter(papers))
    assert idx.count() == 12000
    assert len(idx.search(parse_query("topic"), limit=None)) == 12000
    hits = idx.search(parse_query("topic upvotes:>=12"), limit=None)
    assert len(hits) == sum(1 for p in papers if p.upvotes >= 12)
    idx.upsert([dataclasses.replace(papers[0], upvotes=99)])
    assert ids(idx.search(parse_query("topic"), limit=1)) == [papers[0].id]
    assert search_index.RANK_WINDOW >= 10
    idx.close()


# -- property: no FTS5/sqlite error from any parsed query ------------------------------

_alphabet = st.sampled_from(
    [
        *'abmodelXYZ019 "()-*:<>=OR',
        "author:",
        "org:",
        "title:",
        "upvotes:",
        "since:2026-04-16",
        "before:",
        "2608.19880",
        " OR ",
        "NEAR",
        "AND",
        "NOT",
        "^",
        "{",
        "}",
    ]
)


@given(st.one_of(st.text(max_size=60), st.lists(_alphabet, max_size=25).map("".join)))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_parsed_queries_never_break_sqlite(index: SearchIndex, text: str) -> None:
    try:
        q = parse_query(text)
    except QueryError:
        return
    hits = index.search(q, limit=None)
    assert {h.paper_id for h in hits} == {
        p.id for p in REAL if matches(q, paper_text(p), forms=_forms(index))
    }

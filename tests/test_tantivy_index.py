"""The tantivy index: the FTS5 index's engine-level tests re-run against ``TantivyIndex``,
plus equivalence with the reference matcher on every recorded paper, persistence and
tantivy-specific edge cases (multi-valued fields, prefix expansion, long tokens)."""

from __future__ import annotations

import dataclasses
import json
import threading
import types
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.test_search_index as fts5_tests
from paperpost.bot.catalog.index import SCHEMA_VERSION, VERSION_FILE, TantivyIndex, compile_query
from paperpost.bot.catalog.query import normalize_tokens, parse_query
from paperpost.bot.catalog.query_match import matches, paper_text
from paperpost.bot.errors import QueryError
from paperpost.bot.papers.model import Paper, papers_from_hf_day
from tests.test_search_index import AGREEMENT_QUERIES, REAL, ids, make

DATA = Path(__file__).parent / "data" / "hf_daily_papers"


def _on_tantivy(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The same test function, with ``SearchIndex`` bound to ``TantivyIndex``."""
    scope = {**fn.__globals__, "SearchIndex": TantivyIndex}
    new = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__dict__.update(fn.__dict__)  # keeps pytest marks (parametrize)
    return new


@pytest.fixture(scope="module")
def index() -> TantivyIndex:
    idx = TantivyIndex()
    idx.upsert(REAL)
    return idx


# -- the FTS5 suite, engine-level tests, on tantivy --------------------------------------
# Left out: test_open_rebuilds_empty_corrupt_or_old_schema (writes SQLite files; the
# tantivy version is below). The hypothesis test only needs the ``index`` fixture above.
test_index_agrees_with_reference_matcher = _on_tantivy(
    fts5_tests.test_index_agrees_with_reference_matcher
)
test_ids_and_urls_find_the_paper = _on_tantivy(fts5_tests.test_ids_and_urls_find_the_paper)
test_author_cannot_span_two_authors = _on_tantivy(fts5_tests.test_author_cannot_span_two_authors)
test_refeatured_paper_is_one_row_with_both_days = _on_tantivy(
    fts5_tests.test_refeatured_paper_is_one_row_with_both_days
)
test_search_accepts_text_and_limits = _on_tantivy(fts5_tests.test_search_accepts_text_and_limits)
test_more_upvotes_win_among_equally_relevant = _on_tantivy(
    fts5_tests.test_more_upvotes_win_among_equally_relevant
)
test_title_match_beats_abstract_only_match = _on_tantivy(
    fts5_tests.test_title_match_beats_abstract_only_match
)
test_filter_only_queries_rank_by_upvotes = _on_tantivy(
    fts5_tests.test_filter_only_queries_rank_by_upvotes
)
test_broad_query_beyond_rank_window = _on_tantivy(fts5_tests.test_broad_query_beyond_rank_window)
test_upsert_replaces_and_changes_ranking = _on_tantivy(
    fts5_tests.test_upsert_replaces_and_changes_ranking
)
test_upsert_same_batch_duplicates_and_unchanged_papers = _on_tantivy(
    fts5_tests.test_upsert_same_batch_duplicates_and_unchanged_papers
)
test_small_per_day_index = _on_tantivy(fts5_tests.test_small_per_day_index)
test_open_rebuilds_when_missing_then_reuses = _on_tantivy(
    fts5_tests.test_open_rebuilds_when_missing_then_reuses
)
test_bulk_load_path = _on_tantivy(fts5_tests.test_bulk_load_path)
test_parsed_queries_never_break_sqlite = fts5_tests.test_parsed_queries_never_break_sqlite


def test_the_rebound_suite_runs_on_tantivy() -> None:
    assert test_bulk_load_path.__globals__["SearchIndex"] is TantivyIndex
    assert fts5_tests.test_bulk_load_path.__globals__["SearchIndex"] is not TantivyIndex


# -- equivalence with query_match.matches on every recorded paper ---------------------------


def load_all_recorded() -> list[Paper]:
    papers: dict[str, Paper] = {}
    for path in sorted(DATA.glob("*.json")):
        day = date.fromisoformat(path.stem)
        for p in papers_from_hf_day(json.loads(path.read_text("utf-8")), requested_day=day):
            papers[p.id] = papers[p.id].merged_with(p) if p.id in papers else p
    return list(papers.values())


ALL = load_all_recorded()
ALL_TEXT = [paper_text(p) for p in ALL]
EXTRA_QUERIES = [
    '"vision language"*',
    '"language mo"*',
    'title:"large lang"* -agent',
    "author:zh* OR org:goo*",
    "(diffu* OR autoreg*) -video",
    "upvotes:>5 upvotes:<50 model",
    "upvotes:<0",
    "upvotes:>0 -upvotes:>=1",
    "-upvotes:>=0 model",
    "(a OR b) (c OR model)",
    "model -(agent OR benchmark) -title:survey",
]


@pytest.fixture(scope="module")
def all_index() -> TantivyIndex:
    idx = TantivyIndex()
    idx.upsert(ALL)
    return idx


def _expected(text: str) -> set[str]:
    q = parse_query(text)
    return {t.paper_id for t in ALL_TEXT if matches(q, t)}


@pytest.mark.parametrize("text", AGREEMENT_QUERIES + EXTRA_QUERIES)
def test_equivalence_on_all_recorded_papers(all_index: TantivyIndex, text: str) -> None:
    q = parse_query(text)
    assert {h.paper_id for h in all_index.search(q, limit=None)} == _expected(text)
    # The prefix-phrase fallback (used when tantivy's regex phrase expands too much).
    searcher = all_index._current()
    compiled = compile_query(all_index._schema, searcher, q, expand=True)
    got = {searcher.doc(a)["pid"][0] for _, a in all_index._top(searcher, compiled, q, 10**6)}
    assert got == _expected(text)


_VOCAB = sorted({w for p in ALL[:60] for w in normalize_tokens(p.title) if len(w) >= 2})[:300]
_AUTHOR_WORDS = sorted({w for p in ALL[:60] for a in p.authors for w in normalize_tokens(a)})
_word = st.sampled_from(_VOCAB)


@st.composite
def _term(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "phrase", "prefix", "pphrase", "field", "author"]))
    if kind == "word":
        return draw(_word)
    if kind == "phrase":
        return '"' + " ".join(draw(st.lists(_word, min_size=2, max_size=3))) + '"'
    if kind == "prefix":
        w = draw(_word)
        return w[: draw(st.integers(2, max(2, len(w))))] + "*"
    if kind == "pphrase":
        a, b = draw(_word), draw(_word)
        return f'"{a} {b[: draw(st.integers(2, max(2, len(b))))]}"*'
    if kind == "field":
        return f"{draw(st.sampled_from(['title', 'org']))}:{draw(_word)}"
    names = draw(st.lists(st.sampled_from(_AUTHOR_WORDS), min_size=1, max_size=2))
    return 'author:"' + " ".join(names) + '"'


@st.composite
def _structured_query(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        group = draw(st.lists(_term(), min_size=1, max_size=3))
        text = " OR ".join(group) if len(group) > 1 else group[0]
        parts.append(f"({text})" if len(group) > 1 and draw(st.booleans()) else text)
    if draw(st.booleans()):
        parts.append("-" + draw(_term()))
    for flt in draw(
        st.lists(
            st.sampled_from(
                [
                    "upvotes:>=10",
                    "upvotes:<3",
                    "-upvotes:=0",
                    "since:2026-04-16",
                    "before:2026-04-11",
                    "-since:2026-08-01",
                    "-before:2026-04-07",
                ]
            ),
            max_size=2,
        )
    ):
        parts.append(flt)
    return " ".join(parts)


@given(st.one_of(_structured_query(), st.text(max_size=60)))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_equivalence_property(all_index: TantivyIndex, text: str) -> None:
    try:
        q = parse_query(text)
    except QueryError:
        return
    assert {h.paper_id for h in all_index.search(q, limit=None)} == _expected(text)
    top = all_index.search(q, limit=3)
    assert [h.score for h in top] == sorted((h.score for h in top), reverse=True)


# -- multi-valued fields, tokens, prefix expansion ----------------------------------------


def test_phrases_never_span_two_values() -> None:
    idx = TantivyIndex()
    idx.upsert(
        [
            make(
                "2601.00001",
                authors=("Ada Lovelace", "Alan Turing"),
                ai_keywords=("graph neural", "network pruning"),
                organization="Deep Thought",
                organization_slug="deep-thought-lab",
            )
        ]
    )
    for text in (
        'author:"lovelace alan"',
        '"lovelace alan"',
        '"neural network"',
        'org:"thought deep"',
        '"neural net"*',
        'author:"lovelace al"*',
    ):
        assert idx.search(text) == [], text
    for text in (
        'author:"alan turing"',
        'author:"ada lov"*',
        '"network pruning"',
        'org:"thought lab"',
        "org:deep-thought",
        'org:"deep thought lab"',
    ):
        assert ids(idx.search(text)) == ["2601.00001"], text


def test_long_and_accented_tokens() -> None:
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosisxyzxyzxyz"  # > 40 chars
    idx = TantivyIndex()
    idx.upsert([make("2601.00001", title=f"On {long_word}", authors=("Jürgen Müller",))])
    assert ids(idx.search(long_word)) == ["2601.00001"]
    assert ids(idx.search("author:muller")) == ["2601.00001"]
    assert ids(idx.search("author:MÜLLER")) == ["2601.00001"]
    assert ids(idx.search("title:ON")) == ["2601.00001"]


def test_prefix_phrase_with_many_completions_falls_back() -> None:
    idx = TantivyIndex()
    papers = [make(f"2601.{i:05d}", abstract=f"Large co{i} or cx{i}.") for i in range(17000)]
    idx.upsert(papers)
    assert len(idx.search('"large co"*', limit=None)) == 17000  # > 16384 regex expansions
    assert ids(idx.search('"large co16999"*')) == ["2601.16999"]
    expected = sum(1 for i in range(17000) if not str(i).startswith("1"))
    assert len(idx.search('"or cx"* -"large co1"*', limit=None)) == expected


# -- persistence and threads --------------------------------------------------------------


def test_open_rebuilds_empty_corrupt_or_old_schema(tmp_path: Path) -> None:
    path = tmp_path / "search-index"
    idx = TantivyIndex.open(path, lambda: REAL)
    assert idx.count() == len(REAL)
    idx.close()
    assert (path / VERSION_FILE).read_text().strip() == SCHEMA_VERSION

    (path / VERSION_FILE).write_text("old\n")
    idx = TantivyIndex.open(path, lambda: REAL[:3])
    assert idx.count() == 3
    idx.close()

    (path / "meta.json").write_text("{ not json")
    idx = TantivyIndex.open(path, lambda: REAL[:2])
    assert idx.count() == 2
    idx.close()

    for f in path.glob("*.idx"):
        f.unlink()  # a segment file lost
    idx = TantivyIndex.open(path, lambda: REAL[:4])
    assert idx.count() == 4
    idx.close()

    (path / VERSION_FILE).unlink()  # a rebuild interrupted before it completed
    idx = TantivyIndex.open(path, lambda: REAL[:5])
    assert idx.count() == 5
    idx.close()

    other = tmp_path / "keep.txt"
    other.write_text("not ours")
    file_path = tmp_path / "search.sqlite"  # an old single-file index at the same path
    file_path.write_bytes(b"SQLite format 3\x00")
    TantivyIndex.remove(file_path)
    idx = TantivyIndex.open(file_path, lambda: REAL[:1])
    assert idx.count() == 1 and other.read_text() == "not ours"
    idx.close()
    with pytest.raises(RuntimeError):
        idx.search("model")


def test_concurrent_searches_during_upserts() -> None:
    idx = TantivyIndex()
    idx.upsert(REAL)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                assert len(idx.search("model", limit=None)) >= 45
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(20):
        idx.upsert([dataclasses.replace(REAL[i], upvotes=1000 + i)])
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert idx.count() == len(REAL)
    assert ids(idx.search("upvotes:>=1000", limit=1)) == [REAL[19].id]

"""The relaxed search (search only, when every word must match and nothing does): the
paper's AI summary counts, papers holding more of the words come first, and neither
the strict search nor a subscription ever reads the summary."""

from __future__ import annotations

from paperpost.bot.catalog.index import TantivyIndex
from paperpost.bot.catalog.query import parse_query
from paperpost.bot.catalog.query_match import matches
from paperpost.bot.catalog.relevance import Relevance
from paperpost.bot.papers.model import Paper
from tests.test_search_index import make

PAPERS = [
    make(
        "2601.00001",
        title="Sparse routers for token budgets",
        abstract="We prune experts by their load.",
        ai_summary="A cheaper kitchen robot plans meals with fewer tokens.",
        upvotes=1,
    ),
    make(
        "2601.00002",
        title="Kitchen robot datasets",  # two of the words, in the title: high bm25
        abstract="A collection of demonstrations.",
        upvotes=500,
    ),
    make("2601.00003", title="Unrelated", abstract="Graphs."),
]


def _relevance() -> tuple[TantivyIndex, Relevance]:
    index = TantivyIndex()
    index.upsert(PAPERS)
    by_id: dict[str, Paper] = {p.id: p for p in PAPERS}
    return index, Relevance(lambda: index, by_id.get)


def test_words_of_the_ai_summary_find_the_paper_when_relaxed() -> None:
    # Defect caught: ai_summary not indexed, so a question in the summary's words
    # (the relevance benchmark's summary queries) never finds its paper.
    index, rel = _relevance()
    q = parse_query("kitchen robot plans meals cheaper")
    assert index.search(q) == []
    assert rel.relaxed(q, limit=10)[0].id == "2601.00001"


def test_more_of_the_words_rank_first() -> None:
    # Defect caught: relaxed hits in plain bm25 order, where two words in a popular
    # paper's title outrank a paper holding all four words.
    _, rel = _relevance()
    found = [p.id for p in rel.relaxed(parse_query("kitchen robot plans meals"), limit=10)]
    assert found == ["2601.00001", "2601.00002"]


def test_strict_search_and_subscriptions_never_read_the_summary() -> None:
    # Defect caught: the summary added to the default fields on one side only (search
    # and subscriptions must agree; the summary is for relaxing only).
    index, _ = _relevance()
    q = parse_query("meals")
    assert index.search(q, limit=None) == []
    assert not [p for p in PAPERS if matches(q, p)]

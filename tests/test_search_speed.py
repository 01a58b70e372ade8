"""What keeps search p99 under 10 ms at 100,000 papers (``python benchmarks/search.py``),
without changing what any query matches: acronyms as one concept term, prefix phrases
through tantivy's phrase prefix query only while it is exact."""

from __future__ import annotations

import pytest

from paperpost.bot.catalog.concepts import concept_of, concept_tokens
from paperpost.bot.catalog.index import TantivyIndex, compile_query
from paperpost.bot.catalog.query import parse_query
from paperpost.bot.catalog.query_match import matches
from paperpost.bot.catalog.stems import stem_text
from tests.test_search_index import REAL, make


@pytest.fixture(scope="module")
def real_index() -> TantivyIndex:
    index = TantivyIndex()
    index.upsert(REAL)
    return index


def _compiled(index: TantivyIndex, text: str) -> str:
    return repr(compile_query(index.schema, index.searcher(), parse_query(text)))


@pytest.mark.parametrize("text", ["title:LLM", 'title:"large language models"', "title:t2i"])
def test_an_acronym_and_its_phrase_are_one_term(real_index: TantivyIndex, text: str) -> None:
    # Defect caught: acronyms matched by phrase queries over the stems (10-20 ms at
    # 100,000 papers: the positions of half the corpus are read).
    assert "Phrase" not in _compiled(real_index, text)


def test_an_acronym_with_two_spellings_keeps_its_phrases(real_index: TantivyIndex) -> None:
    # Defect caught: SFT made a concept although "supervised fine tuning" alone does not
    # stand for "supervised finetuning": the index would find more than the matcher.
    assert concept_of(("sft",)) is None
    assert "PhraseQuery" in _compiled(real_index, 'title:"supervised fine-tuning"')


def test_concept_tokens_count_each_form() -> None:
    text = stem_text("llms beat large language models and multimodal large language models")
    assert concept_tokens(text).split().count("llm") == 3  # llms + two phrases
    assert concept_tokens(text).split().count("mllm") == 1
    assert concept_tokens(stem_text("large models of language")) == ""


CONCEPT_QUERIES = [
    "SFT", '"supervised finetuning"', "MLP", "lm", '"language models"',
    '"multimodal large language model"', "mllm -llm", "large language models -LLM",
    "vlm OR lvlm", "title:rl OR title:rlhf", '"reinforcement learning" -"reinforcement learning"*',
]  # fmt: skip


@pytest.mark.parametrize("text", CONCEPT_QUERIES)
def test_concepts_match_exactly_what_the_matcher_does(real_index: TantivyIndex, text: str) -> None:
    # Defect caught: a concept wider or narrower than the acronym's expansion.
    q = parse_query(text)
    assert {h.paper_id for h in real_index.search(q, limit=None)} == {
        p.id for p in REAL if matches(q, p)
    }


def test_prefix_phrase_with_more_completions_than_the_phrase_prefix_query() -> None:
    # Defect caught: tantivy's phrase prefix query stops at 50 completions; with 60 the
    # regex phrase must be used or ten papers go missing.
    index = TantivyIndex()
    index.upsert([make(f"2601.{i:05d}", title=f"Alpha beta{i:02d}") for i in range(60)])
    assert len(index.search('"alpha beta"*', limit=None)) == 60
    assert len(index.search('"alpha beta1"*', limit=None)) == 10

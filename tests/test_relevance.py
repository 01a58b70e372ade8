"""Search that understands how researchers ask: word forms, exact words, acronyms,
did-you-mean, relaxed search and similar papers, through the real core (the console's
path: Slack and Discord render the same ``Reply``)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.catalog.index import TantivyIndex
from paperpost.bot.catalog.query import normalize_tokens, parse_query
from paperpost.bot.catalog.query_explain import matched_words
from paperpost.bot.catalog.query_match import matches
from paperpost.bot.channels.key import CONSOLE_CHANNEL
from tests.test_search_index import REAL, make


async def _ids(core: Paperpost, query: str) -> set[str]:
    return {p.id for p in core.library.search(query, limit=1000)}


async def test_word_forms_find_the_same_papers(core: Paperpost) -> None:
    # Defect caught: no stemming ("agents" missed "Agent Lightning").
    assert await _ids(core, "agents") == await _ids(core, "agent")
    assert await _ids(core, "models") == await _ids(core, "model")
    reply = await core.handle(CONSOLE_CHANNEL, "search agents")
    assert any("Agent Lightning" in p.title for p in reply.papers)


async def test_quoted_word_keeps_its_form_and_prefix_matches_as_written(core: Paperpost) -> None:
    # Defect caught: "agents" stemmed like agents; prefix run over stems ("transform").
    exact = await _ids(core, '"agents"')
    assert exact and exact < await _ids(core, "agents")
    assert str(parse_query('"agents"')) == '"agents"'
    for pid in await _ids(core, "transformer*"):
        paper = core.library.get(pid)
        assert paper is not None
        text = " ".join((paper.title, paper.abstract, *paper.ai_keywords))
        assert re.search(r"(?i)transformer", text)


def test_acronyms_expand_both_ways() -> None:
    # Defect caught: no acronym table ("LLM" missed "Large Language Models" titles).
    index = TantivyIndex()
    index.upsert(REAL)
    by_id = {p.id: p for p in REAL}
    found = [by_id[h.paper_id] for h in index.search("LLM", limit=None)]
    assert any("large language model" in p.title.lower() for p in found)
    spelled = {h.paper_id for h in index.search('title:"large language models"', limit=None)}
    assert {p.id for p in REAL if re.search(r"\bLLMs?\b", p.title)} <= spelled


async def test_difusion_offers_the_correction_with_its_count(core: Paperpost) -> None:
    # Defect caught: a misspelling answered only "No papers match".
    count = len(await _ids(core, "diffusion"))
    reply = await core.handle(CONSOLE_CHANNEL, "search difusion")
    assert f"Did you mean: diffusion ({count} papers)?" in reply.text


async def test_subscription_is_saved_as_typed_and_offers_the_correction(core: Paperpost) -> None:
    reply = await core.handle(CONSOLE_CHANNEL, "subscribe difusion")
    assert "Did you mean: diffusion" in reply.text
    assert (await core.handle(CONSOLE_CHANNEL, "list")).text.endswith("difusion")


async def test_relaxed_search_says_so(core: Paperpost) -> None:
    # Defect caught: a long query with one unknown word answered nothing.
    reply = await core.handle(CONSOLE_CHANNEL, "search diffusion video kitchen zzqqxx")
    assert "Relaxed" in reply.text and reply.papers


async def test_similar_lists_related_papers(core: Paperpost) -> None:
    # Defect caught: no similar command.
    reply = await core.handle(CONSOLE_CHANNEL, "similar 2608.19880")
    assert not reply.is_error and len(reply.papers) >= 3
    assert "2608.19880" not in {p.id for p in reply.papers}


FORMS_QUERIES = [
    "agents", "agent", '"agents"', "LLM", "llms", '"large language models"',
    "large language model reasoning", "RL -survey", "title:VLM", "models -agents",
    "3DGS", "T2I OR T2V", "reasoning models", '"chain of thought"', "MoE",
    'title:"agents"', 'title:"agent" -title:"agents"', 'title:"llms"',
]  # fmt: skip


@pytest.mark.parametrize("text", FORMS_QUERIES)
def test_index_agrees_with_matcher_on_forms_and_acronyms(text: str) -> None:
    # Defect caught: index and matcher stemming or expanding differently.
    index = TantivyIndex()
    index.upsert(REAL)
    q = parse_query(text)
    assert {h.paper_id for h in index.search(q, limit=None)} == {
        p.id for p in REAL if matches(q, p)
    }


def test_an_exclusion_excludes_the_forms_of_its_word() -> None:
    # Defect caught: exclusions left as written while words match by stem.
    plural = {p.id for p in REAL if matches(parse_query('"agents"'), p)}
    assert plural
    assert not plural & {p.id for p in REAL if matches(parse_query("model -agent"), p)}
    kept = {p.id for p in REAL if matches(parse_query('model -"agent"'), p)}
    assert (
        plural
        & {p.id for p in REAL if matches(parse_query("model"), p)}
        - {p.id for p in REAL if matches(parse_query('"agent"'), p)}
        <= kept
    )


def test_a_quoted_word_in_the_title_field_is_that_form_only() -> None:
    # Defect caught: title:"agents" searched by the stem like title:agents (issue 11
    # part 1: quoting a single word keeps an exact-form search possible).
    exact = {p.id for p in REAL if matches(parse_query('title:"agents"'), p)}
    stemmed = {p.id for p in REAL if matches(parse_query("title:agents"), p)}
    assert exact and exact < stemmed
    assert all("agents" in normalize_tokens(p.title) for p in REAL if p.id in exact)
    assert str(parse_query('title:"agents"')) == 'title:"agents"'
    assert str(parse_query('title:"Agents"')) == 'title:"agents"'
    assert str(parse_query('author:"wang"')) == "author:wang"  # names: always as written


def test_matched_words_name_the_papers_own_words_and_where() -> None:
    # Defect caught: why named only the saved search, not the words that matched.
    paper = make(
        "2601.00001",
        title="Agentic search",
        abstract="Large language models as agents; no survey here.",
        ai_keywords=("LLMs",),
    )
    words = matched_words(parse_query("agents LLM -benchmark"), paper)
    assert words == [
        "agentic (title)",
        "agents (abstract)",
        "llms (keywords)",
        "large language models (abstract)",
    ]
    assert matched_words(parse_query("agents -survey"), paper) == [
        "agentic (title)",
        "agents (abstract)",
    ]  # an excluded word never made a paper match


async def test_why_names_the_words_that_matched(core: Paperpost) -> None:
    # Defect caught: why answered only with the saved search.
    assert not (await core.handle(CONSOLE_CHANNEL, "subscribe agents")).is_error
    await core.post_digests(day=date(2026, 8, 21), channel=CONSOLE_CHANNEL)
    posted = core.library.search("agents since:2026-08-21 before:2026-08-22", limit=1)[0]
    reply = await core.handle(CONSOLE_CHANNEL, f"why {posted.id}")
    assert "“agents” (words: agent" in reply.text, reply.text

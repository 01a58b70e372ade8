"""The query language: syntax, canonical form, matcher semantics, malformed input."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperpost.bot.catalog.query import (
    FIELDS,
    And,
    Before,
    IdTerm,
    Not,
    Or,
    Query,
    Since,
    Term,
    Upvotes,
    normalize_tokens,
    parse_query,
)
from paperpost.bot.catalog.query_match import matches
from paperpost.bot.errors import QueryError
from paperpost.bot.papers.model import Paper, papers_from_hf_day

DATA = Path(__file__).parent / "data" / "hf_daily_papers"


def day_papers(day: str) -> list[Paper]:
    items = json.loads((DATA / f"{day}.json").read_text("utf-8"))
    return papers_from_hf_day(items, requested_day=date.fromisoformat(day))


@pytest.fixture(scope="module")
def envharness() -> Paper:
    return next(p for p in day_papers("2026-08-21") if p.id == "2608.19880")


def paper(**kw: object) -> Paper:
    base: dict[str, object] = {
        "id": "2601.00001",
        "title": "A Title",
        "abstract": "An abstract.",
        "authors": ("Ada Lovelace",),
        "featured_days": (date(2026, 3, 10),),
    }
    base.update(kw)
    return Paper(**base)  # type: ignore[arg-type]


# -- parsing -------------------------------------------------------------------


def test_words_are_anded() -> None:
    q = parse_query("diffusion transformer")
    assert q.root == And((Term(("diffusion",)), Term(("transformer",))))


def test_phrase_and_hyphenated_word() -> None:
    assert parse_query('"World Model"').root == Term(("world", "model"))
    assert parse_query("vision-language").root == Term(("vision", "language"))


def test_or_binds_tighter_than_and() -> None:
    q = parse_query("a b OR c")
    assert q.root == And((Term(("a",)), Or((Term(("b",)), Term(("c",))))))
    lowercase_or = parse_query("a or b")
    assert lowercase_or.root == And((Term(("a",)), Term(("b",)), Term(("or",))))


def test_parentheses() -> None:
    q = parse_query("(video OR audio) (generation -survey)")
    assert q.root == And(
        (
            Or((Term(("audio",)), Term(("video",)))),
            Term(("generation",)),
            Not(Term(("survey",))),
        )
    )


def test_exclusions_of_word_phrase_field_group() -> None:
    q = parse_query('agents -survey -"large language" -author:smith -(robot OR arm)')
    assert Not(Term(("survey",))) in q.root.operands
    assert Not(Term(("large", "language"))) in q.root.operands
    assert Not(Term(("smith",), "author")) in q.root.operands
    assert Not(Or((Term(("arm",)), Term(("robot",))))) in q.root.operands


def test_prefix() -> None:
    assert parse_query("diffu*").root == Term(("diffu",), prefix=True)
    assert parse_query('"large lang"*').root == Term(("large", "lang"), prefix=True)
    assert parse_query("title:trans*").root == Term(("trans",), "title", True)
    with pytest.raises(QueryError, match=r"at least 2 letters"):
        parse_query("a*")


def test_fields() -> None:
    assert parse_query('author:"Zifeng Wang"').root == Term(("zifeng", "wang"), "author")
    assert parse_query("org:google").root == Term(("google",), "org")
    assert parse_query('title:"world model"').root == Term(("world", "model"), "title")
    assert parse_query("Title:Agent").root == Term(("agent",), "title")


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("upvotes:>=20", Upvotes(">=", 20)),
        ("upvotes:>20", Upvotes(">", 20)),
        ("upvotes:<=20", Upvotes("<=", 20)),
        ("upvotes:<20", Upvotes("<", 20)),
        ("upvotes:=20", Upvotes("=", 20)),
        ("upvotes:20", Upvotes(">=", 20)),
        ("since:2026-08-01", Since(date(2026, 8, 1))),
        ("before:2026-08-01", Before(date(2026, 8, 1))),
    ],
)
def test_filters(text: str, node: object) -> None:
    assert parse_query(text).root == node


@pytest.mark.parametrize(
    "text",
    [
        "2608.19880",
        "2608.19880v2",
        "arXiv:2608.19880",
        "https://arxiv.org/abs/2608.19880",
        "http://arxiv.org/abs/2608.19880v3",
        "arxiv.org/abs/2608.19880",
        "https://www.arxiv.org/abs/2608.19880",
        "https://arxiv.org/pdf/2608.19880",
        "https://arxiv.org/pdf/2608.19880v2.pdf",
        "arxiv.org/pdf/2608.19880.pdf",
        "https://huggingface.co/papers/2608.19880",
        "huggingface.co/papers/2608.19880",
        "www.huggingface.co/papers/2608.19880",
        "https://huggingface.co/papers/2608.19880?utm=x",
    ],
)
def test_ids_and_urls(text: str, envharness: Paper) -> None:
    q = parse_query(text)
    assert q.root == IdTerm("2608.19880")
    assert matches(q, envharness)


def test_old_style_id() -> None:
    assert parse_query("https://arxiv.org/abs/hep-th/9901001v1").root == IdTerm("hep-th/9901001")


def test_fields_tuple() -> None:
    assert FIELDS == ("author", "org", "title", "upvotes", "since", "before")


# -- canonical form --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "b a",
        "agent memory OR retrieval",
        '(video OR audio) "world model" -survey -(a1 OR b2)',
        'title:"world model"* author:"zifeng wang" org:google upvotes:>5',
        "since:2026-01-01 -before:2026-02-01 -upvotes:=3 x",
        "2608.19880 OR https://arxiv.org/abs/2604.07429",
        "Müller naïve ﬁne",
    ],
)
def test_canonical_reparses_equal(text: str) -> None:
    q = parse_query(text)
    assert parse_query(q.canonical) == q
    assert str(q) == q.canonical


def test_canonical_detects_duplicates() -> None:
    assert parse_query("LLM  agents").canonical == parse_query("agents llm agents").canonical
    assert parse_query("upvotes:10 x").canonical == "x upvotes:>=10"
    assert parse_query("(b OR a) c").canonical == "(a OR b) c"


def test_query_is_frozen_and_hashable() -> None:
    q = parse_query("a b")
    assert isinstance(q, Query)
    assert hash(q) == hash(parse_query("b a"))
    with pytest.raises(AttributeError):
        q.root = Term(("x",))  # type: ignore[misc]


# -- matcher semantics ------------------------------------------------------------


def test_author_matches_one_author_only(envharness: Paper) -> None:
    assert envharness.authors[:2] == ("Chengsong Huang", "Zifeng Wang")
    assert matches(parse_query('author:"zifeng wang"'), envharness)
    assert matches(parse_query('author:"ZIFENG WANG"'), envharness)
    assert matches(parse_query("author:huang"), envharness)
    assert not matches(parse_query('author:"huang zifeng"'), envharness)


def test_author_accent_insensitive() -> None:
    p = paper(authors=("José Müller", "Jakub Piotr Cłapa"))
    assert matches(parse_query('author:"jose muller"'), p)
    assert matches(parse_query('author:"José Müller"'), p)
    assert matches(parse_query("author:Cłapa"), p)
    assert not matches(parse_query('author:"muller jakub"'), p)


def test_org_matches_name_or_slug() -> None:
    p = paper(organization="Tencent Hunyuan", organization_slug="Tencent-Hunyuan")
    assert matches(parse_query("org:hunyuan"), p)
    assert matches(parse_query('org:"tencent hunyuan"'), p)
    assert matches(parse_query("org:Tencent-Hunyuan"), p)
    assert not matches(parse_query("org:google"), p)
    assert not matches(parse_query("org:x"), paper())


def test_title_field_and_plain_words(envharness: Paper) -> None:
    assert matches(parse_query("title:envharness"), envharness)
    assert not matches(parse_query("title:google"), envharness)
    assert matches(parse_query("google"), envharness)  # organization is searched too
    assert matches(parse_query('"agent learning"'), envharness)
    assert not matches(parse_query('"learning agent"'), envharness)


def test_prefix_exclusion_or() -> None:
    p = paper(title="Diffusion Transformers for Video", abstract="We study audio.")
    assert matches(parse_query("diffu* transform*"), p)
    assert not matches(parse_query("diffux*"), p)
    assert matches(parse_query("speech OR audio"), p)
    assert not matches(parse_query("video -audio"), p)
    assert matches(parse_query("video -(speech OR music)"), p)


def test_filters_semantics() -> None:
    p = paper(upvotes=20, featured_days=(date(2026, 4, 10), date(2026, 4, 16)))
    yes = [
        "upvotes:20",
        "upvotes:=20",
        "upvotes:>19",
        "upvotes:<=20",
        "upvotes:<21",
        "since:2026-04-16",
        "since:2026-04-11",
        "before:2026-04-11",
        "-upvotes:>20",
        "-since:2026-04-17",
        "-before:2026-04-10",
    ]
    no = [
        "upvotes:21",
        "upvotes:>20",
        "upvotes:<20",
        "since:2026-04-17",
        "before:2026-04-10",
        "-since:2026-04-16",
    ]
    for text in yes:
        assert matches(parse_query("title " + text), p), text
    for text in no:
        assert not matches(parse_query("title " + text), p), text


# -- malformed --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Empty query"),
        ("   ", "Empty query"),
        ("&& ::", "Empty query"),
        ('"abc', "Unclosed quote"),
        ('""', "Empty phrase"),
        ("(a b", "Unclosed ("),
        ("a b)", "Unmatched )"),
        ("()", "Empty parentheses"),
        ("a OR", "Dangling OR"),
        ("OR a", "Dangling OR"),
        ("a OR OR b", "Dangling OR"),
        ("(a OR) b", "Dangling OR"),
        ("-a -b", "Only exclusions"),
        ("-upvotes:>5", "Only exclusions"),
        ("x (-a)", "not excluded"),
        ("--a b", "Double minus"),
        ("a OR -b", "exclusion"),
        ("a OR upvotes:>5", "OR"),
        ("x (a since:2026-01-01)", "parentheses"),
        ("a" * 301, "too long"),
        ("author:", "needs a value"),
        ("author: wang", "needs a value"),
        ("title:&&", "letters or digits"),
        ("lo*", None),
    ],
)
def test_malformed(text: str, fragment: str | None) -> None:
    if fragment is None:
        parse_query(text)  # 2 characters before * is fine
        return
    with pytest.raises(QueryError) as info:
        parse_query(text)
    message = str(info.value)
    assert fragment.lower() in message.lower()
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("llm cat:cs.CL", "cat:"),
        ("since:2026-13-40", "since:2026-13-40"),
        ("since:yesterday", "since:yesterday"),
        ("before:2026-02-30", "before:2026-02-30"),
        ("upvotes:>=x", "upvotes:>=x"),
        ("upvotes:=>5", "upvotes:=>5"),
    ],
)
def test_bad_field_or_value_lists_fields(text: str, token: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    message = str(info.value)
    assert token in message
    for field in FIELDS:
        assert f"{field}:" in message
    assert info.value.position == text.index(token.split(":")[0])
    assert f"character {info.value.position + 1}" in message


def test_error_position_points_at_problem() -> None:
    with pytest.raises(QueryError) as info:
        parse_query('agents "unclosed phrase')
    assert info.value.position == 7


# -- properties ---------------------------------------------------------------------

_alphabet = st.sampled_from(
    [*'abcXYZ019 "()-*:<>=.OR/é\u00df\u0130\ufb01\u00b2\t', "author:", "OR", "since:", "2608.19880"]
)
query_text = st.one_of(
    st.text(max_size=80),
    st.lists(_alphabet, max_size=30).map("".join),
)


@given(query_text)
@settings(max_examples=400, deadline=None)
def test_any_string_parses_or_raises_query_error(text: str) -> None:
    try:
        q = parse_query(text)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert parse_query(q.canonical) == q


@given(st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_normalize_tokens_idempotent(text: str) -> None:
    tokens = normalize_tokens(text)
    assert normalize_tokens(" ".join(tokens)) == tokens

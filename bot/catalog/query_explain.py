"""Which of a paper's words made it match a query: what ``why`` names.

A subscription matches by the words, their forms and acronyms only (never relaxed,
never the AI summary), so the reference matcher's own terms say why: every positive
word or phrase of the expanded query (not under an exclusion) that the paper holds,
named as the paper writes it (normalised) and where, e.g. ``agent (title)`` for the
query ``agents``, or ``large language models (abstract)`` for ``LLM``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from paperpost.bot.catalog.query import parse_query
from paperpost.bot.catalog.query_ast import And, Node, Or, Query, Term
from paperpost.bot.catalog.query_expand import expanded
from paperpost.bot.catalog.query_match import PaperText, paper_text
from paperpost.bot.catalog.stems import stem_tokens
from paperpost.bot.errors import QueryError
from paperpost.bot.papers.model import Paper

MAX_WORDS = 6  # a why answer stays one short line
# (label, as-written column, stemmed column or None for names); None field: all five
_COLUMNS = {
    "title": ("title", "title", "title_s"),
    "keywords": ("keywords", "keywords", "keywords_s"),
    "abstract": ("abstract", "abstract", "abstract_s"),
    "author": ("authors", "authors", None),
    "org": ("organisation", "org", None),
}
_SCOPE = {
    None: ("title", "keywords", "abstract", "author", "org"),
    "title": ("title",),
    "author": ("author",),
    "org": ("org",),
}


def _positive_terms(node: Node) -> Iterator[Term]:
    """Terms not under an exclusion (an excluded word never made a paper match)."""
    if isinstance(node, Term):
        yield node
    elif isinstance(node, (And, Or)):
        for op in node.operands:
            yield from _positive_terms(op)


def _found(term: Term, text: PaperText) -> Iterator[tuple[str, str]]:
    """(where, the paper's words) for each column holding the term."""
    n = len(term.tokens)
    for column in _SCOPE[term.field]:
        label, written_name, stemmed_name = _COLUMNS[column]
        written = str(getattr(text, written_name)).split()
        by_stem = stemmed_name is not None and not (term.prefix or term.exact)
        words = str(getattr(text, stemmed_name or written_name)).split() if by_stem else written
        needle = list(stem_tokens(term.tokens) if by_stem else term.tokens)
        for i in range(len(words) - n + 1):
            head, last = words[i : i + n - 1], words[i + n - 1]
            if head == needle[:-1] and (
                last.startswith(needle[-1]) if term.prefix else last == needle[-1]
            ):
                yield label, " ".join(written[i : i + n])  # never spans an item separator
                break


def matched_words(query: Query, paper: Paper) -> list[str]:
    """The paper's words that match ``query``'s positive terms, as ``word (where, …)``."""
    text = paper_text(paper)
    places: dict[str, dict[str, None]] = {}
    for term in _positive_terms(expanded(query.root)):
        for where, words in _found(term, text):
            places.setdefault(words, {}).setdefault(where)
    named = [f"{words} ({', '.join(where)})" for words, where in places.items()]
    return named[:MAX_WORDS]


def why_words(query_text: str, paper: Paper | None) -> str:
    """`` (words: agent (title), …)`` for a saved search and a paper; "" if none."""
    if paper is None:
        return ""
    try:
        words = matched_words(parse_query(query_text), paper)
    except QueryError:
        return ""
    return f" (words: {', '.join(words)})" if words else ""


def why_reason(matched: Sequence[str], paper: Paper | None) -> str:
    """Why ``why`` says a paper was posted: the saved searches it matched, each with
    the paper's words that matched it."""
    if not matched:
        return "it was among the day's top papers (no saved searches then)"
    return "it matched " + ", ".join(f"“{q}”{why_words(q, paper)}" for q in matched)

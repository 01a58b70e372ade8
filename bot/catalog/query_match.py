"""The reference matcher: does a paper match a parsed query?

Pure Python over normalised text. It defines what a query means: the search
index is tested to return exactly the papers this accepts, and digests use it
directly on a featured day's few dozen papers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from paperpost.bot.catalog.query_ast import (
    And,
    Before,
    IdTerm,
    Node,
    Not,
    Or,
    Query,
    Since,
    Term,
    Upvotes,
    normalize_tokens,
)
from paperpost.bot.papers.model import Paper

# A private-use character between the items of a multi-valued field (authors, keywords,
# org name + slug): never a query token (it is not alphanumeric), so a phrase cannot
# span two authors or two keywords.
ITEM_SEPARATOR = "\ue000"


def _norm(text: str) -> str:
    return " ".join(normalize_tokens(text))


def _join_items(items: tuple[str, ...] | list[str]) -> str:
    return f" {ITEM_SEPARATOR} ".join(t for t in map(_norm, items) if t.strip())


def matcher_columns(paper: Paper) -> tuple[str, str, str, str, str]:
    """Title, keywords, abstract, authors, org as normalised words, for the matcher."""
    org_items = [x for x in (paper.organization, paper.organization_slug) if x]
    return (
        _norm(paper.title),
        _join_items(paper.ai_keywords),
        _norm(paper.abstract),
        _join_items(paper.authors),
        _join_items(org_items),
    )


@dataclass(frozen=True, slots=True)
class PaperText:
    """A paper's searchable text, normalised and space-padded, for ``matches``."""

    paper_id: str
    title: str
    keywords: str
    abstract: str
    authors: str
    org: str
    upvotes: int
    first_day: date
    last_day: date


def paper_text(paper: Paper) -> PaperText:
    cols = matcher_columns(paper)
    title, keywords, abstract, authors, org = (f" {c} " for c in cols)
    return PaperText(
        paper.id,
        title,
        keywords,
        abstract,
        authors,
        org,
        paper.upvotes,
        paper.featured_days[0],
        paper.featured_days[-1],
    )


def _needle(term: Term) -> str:
    return " " + " ".join(term.tokens) + ("" if term.prefix else " ")


def _match(node: Node, t: PaperText) -> bool:
    if isinstance(node, Term):
        needle = _needle(node)
        if node.field is None:
            return (
                needle in t.title
                or needle in t.keywords
                or needle in t.abstract
                or needle in t.authors
                or needle in t.org
            )
        column = {"title": t.title, "author": t.authors, "org": t.org}[node.field]
        return needle in column
    if isinstance(node, And):
        return all(_match(op, t) for op in node.operands)
    if isinstance(node, Or):
        return any(_match(op, t) for op in node.operands)
    if isinstance(node, Not):
        return not _match(node.operand, t)
    if isinstance(node, IdTerm):
        return t.paper_id == node.paper_id
    if isinstance(node, Upvotes):
        return node.test(t.upvotes)
    if isinstance(node, Since):
        return t.last_day >= node.day
    if isinstance(node, Before):
        return t.first_day < node.day
    raise TypeError(f"not a query node: {node!r}")


def matches(query: Query, paper: Paper | PaperText) -> bool:
    """Does the paper match? The reference semantics the search index must agree with.

    Pass a ``PaperText`` (``paper_text(paper)``) to match many queries against one paper
    without normalising its text each time.
    """
    text = paper if isinstance(paper, PaperText) else paper_text(paper)
    return _match(query.root, text)

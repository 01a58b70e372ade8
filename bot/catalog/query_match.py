"""The reference matcher: does a paper match a parsed query?

Pure Python over normalised text. It defines what a query means: the search
index is tested to return exactly the papers this accepts, and digests use it
directly on a featured day's few dozen papers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from paperpost.bot.catalog.query import (
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
    matcher_columns,
)
from paperpost.bot.papers.model import Paper


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

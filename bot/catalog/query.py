"""The Paperpost query language, used unchanged by ``/papers search`` and subscriptions.

Syntax (``parse_query`` turns a string into a ``Query``; anything else raises ``QueryError``)::

    diffusion transformer        every word must match (implicit AND)
    "world model"                exact phrase
    agent memory OR retrieval    OR binds tighter than AND: agent AND (memory OR retrieval)
    (video OR audio) generation  parentheses group
    -survey  -"large language"   exclude a word, a phrase, a field term or a group
    diffu*                       prefix (at least 2 characters before the *)
    author:hinton  author:"zifeng wang"   one author's name contains the word/phrase
    org:google                   organization display name or hub slug
    title:"world model"          only in the title
    upvotes:>=20  upvotes:20     also >, <=, <, = ; a bare number means >=
    since:2026-08-01             featured on that day or later (some featured day >= D)
    before:2026-08-01            featured before that day (some featured day < D)
    2608.19880  arXiv:2608.19880v2       an arXiv id, or a URL: arxiv.org/abs|pdf/...,
    https://huggingface.co/papers/2608.19880   (with or without scheme, www., v2, .pdf)

Matching works on *tokens*: text is NFD-normalised, stripped of combining marks
(accents), lower-cased and split on anything that is not a letter or a digit, so
``vision-language`` is the phrase ``"vision language"`` and ``Müller`` matches ``muller``.
The same normalisation is applied to paper text, both by the search index
(``bot.catalog.index``) and by the reference matcher (``bot.catalog.query_match``).

The tree lives in ``query_ast``, the lexer in ``query_lexer``; this module parses and
re-exports the tree's names.

Filters (``upvotes:``, ``since:``, ``before:``) may be excluded (``-since:...``) but must
stand at the top level: not inside parentheses and not joined by OR.
"""

from __future__ import annotations

from paperpost.bot.catalog.query_ast import (
    FIELDS,
    FILTERS,
    MAX_UPVOTES,
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
    combine,
    normalize_tokens,
)
from paperpost.bot.catalog.query_lexer import LP, MINUS, OR, RP, Token, lex, query_error
from paperpost.bot.errors import QueryError

__all__ = [
    "FIELDS",
    "FILTERS",
    "MAX_QUERY_LENGTH",
    "MAX_UPVOTES",
    "And",
    "Before",
    "IdTerm",
    "Node",
    "Not",
    "Or",
    "Query",
    "Since",
    "Term",
    "Upvotes",
    "normalize_tokens",
    "parse_query",
]

MAX_QUERY_LENGTH = 300
MAX_DEPTH = 8


# -- parser ----------------------------------------------------------------------


_DANGLING_OR = "Dangling OR: put a term on both sides of OR, e.g. audio OR speech"
_EMPTY = "Empty query: type some words to search for, e.g. diffusion transformer"


class _Parser:
    def __init__(self, text: str, toks: list[Token]) -> None:
        self.text = text
        self.toks = toks
        self.i = 0

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node:
        items = self.parse_and(depth=0)
        tok = self.peek()
        if tok is not None:  # only a stray ")" can stop parse_and at the top level
            raise query_error("Unmatched ): remove it or add a ( before it", tok.pos)
        if not items:
            raise query_error(_EMPTY, None)
        if all(isinstance(x, Not) for x in items):
            raise query_error(
                "Only exclusions: add at least one word or filter to search for, "
                "e.g. agents -survey",
                None,
            )
        return combine(And, items)

    def parse_and(self, depth: int) -> list[Node]:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind != RP:
            items.append(self.parse_or(depth))
        return items

    def parse_or(self, depth: int) -> Node:
        first = self.peek()
        assert first is not None
        positions = [first.pos]
        operands = [self.parse_unary(depth)]
        while (tok := self.peek()) is not None and tok.kind == OR:
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (OR, RP):
                raise query_error(_DANGLING_OR, tok.pos)
            positions.append(nxt.pos)
            operands.append(self.parse_unary(depth))
        if len(operands) == 1:
            return operands[0]
        for op, pos in zip(operands, positions, strict=True):
            inner = op.operand if isinstance(op, Not) else op
            if isinstance(inner, FILTERS):
                raise query_error(
                    f"{inner.canonical.split(':')[0]}: filters cannot be joined with OR;"
                    " write them next to the other terms instead",
                    pos,
                )
            if isinstance(op, Not):
                raise query_error(
                    f"Cannot use OR with the exclusion -{inner.canonical}:"
                    " move the exclusion outside the OR",
                    pos,
                )
        return combine(Or, operands)

    def parse_unary(self, depth: int) -> Node:
        tok = self.peek()
        assert tok is not None
        if tok.kind == MINUS:
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (OR, RP, MINUS):
                raise query_error(
                    "A - must be followed by the word, phrase or field to exclude", tok.pos
                )
            return Not(self.parse_atom(depth))
        return self.parse_atom(depth)

    def parse_atom(self, depth: int) -> Node:
        tok = self.peek()
        assert tok is not None
        if tok.kind == OR:
            raise query_error(_DANGLING_OR, tok.pos)
        if tok.kind == RP:
            raise query_error("Unmatched ): remove it or add a ( before it", tok.pos)
        self.i += 1
        if tok.kind == LP:
            if depth + 1 > MAX_DEPTH:
                raise query_error(f"Too many nested parentheses (at most {MAX_DEPTH})", tok.pos)
            items = self.parse_and(depth + 1)
            close = self.peek()
            if close is None:
                raise query_error("Unclosed (: add a ) to close the group", tok.pos)
            self.i += 1
            if not items:
                raise query_error("Empty parentheses: put some terms inside ( )", tok.pos)
            if all(isinstance(x, Not) for x in items):
                raise query_error(
                    "A group needs at least one term that is not excluded, e.g. (agents -survey)",
                    tok.pos,
                )
            return combine(And, items)
        node = tok.node
        assert node is not None
        if depth > 0 and isinstance(node, FILTERS):
            raise query_error(
                f"{tok.text!r}: filters cannot go inside parentheses; put them at the top level",
                tok.pos,
            )
        return node


def parse_query(text: str) -> Query:
    """Parse a search or subscription query. Raises ``QueryError`` with a one-line message."""
    if not isinstance(text, str):
        raise QueryError("The query must be text")
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"Query too long ({len(text)} characters; the limit is {MAX_QUERY_LENGTH}):"
            " shorten it or split it into several subscriptions",
            position=MAX_QUERY_LENGTH,
        )
    text = text.replace("\x00", " ")
    stripped = text.strip()
    if not stripped:
        raise QueryError(_EMPTY)
    toks = lex(text)
    return Query(_Parser(text, toks).parse())

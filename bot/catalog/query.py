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
The same normalisation is applied to paper text (``document_columns``), both by the
SQLite index (``fts5_index``) and by the pure-Python ``matches`` predicate.

Filters (``upvotes:``, ``since:``, ``before:``) may be excluded (``-since:...``) but must
stand at the top level: not inside parentheses and not joined by OR.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Union

from paperpost.bot.errors import QueryError
from paperpost.bot.papers.model import ARXIV_ID_RE, Paper

__all__ = [
    "FIELDS",
    "MAX_QUERY_LENGTH",
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
    "document_columns",
    "matcher_columns",
    "normalize_tokens",
    "parse_query",
]

FIELDS: tuple[str, ...] = ("author", "org", "title", "upvotes", "since", "before")
TEXT_FIELDS: tuple[str, ...] = ("author", "org", "title")
MAX_QUERY_LENGTH = 300
MAX_DEPTH = 8
MAX_UPVOTES = 10**9

# A private-use character: a token for SQLite FTS5 (so a phrase cannot span two
# authors or two keywords), but never a token of a query (it is not alphanumeric).
ITEM_SEPARATOR = "\ue000"

_FIELD_LIST = ", ".join(f"{f}:" for f in FIELDS)
_TOKEN_RE = re.compile(r"[^\W_]+")
_FIELD_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.S)
_VERSION_RE = re.compile(r"v\d+$")
_ID_RE = re.compile(
    r"^(?:arxiv:)?(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Za-z]{2})?/\d{7})(?:v\d+)?$", re.I
)
_URL_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?"
    r"(?:arxiv\.org/(?:abs|pdf|html)/|(?:huggingface\.co|hf\.co)/papers/)"
    r"(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Za-z]{2})?/\d{7})(?:v\d+)?(?:\.pdf)?/?(?:[?#]\S*)?$",
    re.I,
)
_UPVOTES_RE = re.compile(r"^(>=|<=|>|<|=)?(\d+)$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPARE = {
    ">=": int.__ge__,
    ">": int.__gt__,
    "<=": int.__le__,
    "<": int.__lt__,
    "=": int.__eq__,
}


# -- normalisation -------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower-case and strip accents; repeated until stable (a few exotic letters need it)."""
    text = text.lower()
    for _ in range(4):
        if text.isascii():
            return text
        folded = unicodedata.normalize("NFKD", text)
        folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
        if folded == text:
            return text
        text = folded
    return text


def normalize_tokens(text: str) -> list[str]:
    """Split text into search tokens: accents removed, lower-cased, alphanumeric runs."""
    return _TOKEN_RE.findall(_fold(text))


def _index_text(text: str) -> str:
    """Text as handed to the FTS5 index.

    Pure-ASCII text goes in unchanged: SQLite's unicode61 tokenizer splits and folds
    it exactly like ``normalize_tokens`` (letters and digits, lower-cased), and skipping
    Python keeps bulk indexing fast. Other text is replaced by its normalised tokens,
    so the index sees exactly the tokens a query produces.
    """
    return text if text.isascii() else " ".join(normalize_tokens(text))


def _join_items(items: tuple[str, ...] | list[str], convert: Callable[[str], str]) -> str:
    return f" {ITEM_SEPARATOR} ".join(t for t in map(convert, items) if t.strip())


def _norm(text: str) -> str:
    return " ".join(normalize_tokens(text))


def _columns(paper: Paper, convert: Callable[[str], str]) -> tuple[str, str, str, str, str]:
    org_items = [x for x in (paper.organization, paper.organization_slug) if x]
    return (
        convert(paper.title),
        _join_items(paper.ai_keywords, convert),
        convert(paper.abstract),
        _join_items(paper.authors, convert),
        _join_items(org_items, convert),
    )


def matcher_columns(paper: Paper) -> tuple[str, str, str, str, str]:
    """Title, keywords, abstract, authors, org as normalised words, for the matcher."""
    return _columns(paper, _norm)


def document_columns(paper: Paper) -> tuple[str, str, str, str, str]:
    """The text columns the search index stores: title, keywords, abstract, authors, org.

    Multi-valued fields (keywords, authors, organization name + slug) are joined with
    ``ITEM_SEPARATOR`` (a token for FTS5, never a query token), so a phrase never
    matches across two authors or two keywords.
    """
    return _columns(paper, _index_text)


# -- AST -----------------------------------------------------------------------


def _quote(tokens: tuple[str, ...], prefix: bool) -> str:
    body = tokens[0] if len(tokens) == 1 else '"' + " ".join(tokens) + '"'
    return body + "*" if prefix else body


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase (a tuple of normalised tokens), optionally in one field.

    ``field`` is None (title, keywords, abstract, authors, organization), ``"title"``,
    ``"author"`` (within one author's name) or ``"org"``. ``prefix``: the last token
    is a prefix.
    """

    tokens: tuple[str, ...]
    field: str | None = None
    prefix: bool = False

    @property
    def canonical(self) -> str:
        value = _quote(self.tokens, self.prefix)
        return f"{self.field}:{value}" if self.field else value


@dataclass(frozen=True, slots=True)
class IdTerm:
    """One paper by arXiv id (version suffix removed)."""

    paper_id: str

    @property
    def canonical(self) -> str:
        return self.paper_id


@dataclass(frozen=True, slots=True)
class Upvotes:
    op: str  # one of >=, >, <=, <, =
    value: int

    @property
    def canonical(self) -> str:
        return f"upvotes:{self.op}{self.value}"

    def test(self, upvotes: int) -> bool:
        return _COMPARE[self.op](upvotes, self.value)


@dataclass(frozen=True, slots=True)
class Since:
    """Some featured day is on or after ``day``."""

    day: date

    @property
    def canonical(self) -> str:
        return f"since:{self.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Before:
    """Some featured day is strictly before ``day``."""

    day: date

    @property
    def canonical(self) -> str:
        return f"before:{self.day.isoformat()}"


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    @property
    def canonical(self) -> str:
        inner = self.operand.canonical
        return f"-({inner})" if isinstance(self.operand, (And, Or)) else f"-{inner}"


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]

    @property
    def canonical(self) -> str:
        return " ".join(
            f"({op.canonical})" if isinstance(op, Or) else op.canonical for op in self.operands
        )


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]

    @property
    def canonical(self) -> str:
        return " OR ".join(
            f"({op.canonical})" if isinstance(op, And) else op.canonical for op in self.operands
        )


Node = Union[Term, IdTerm, Upvotes, Since, Before, Not, And, Or]  # noqa: UP007
FILTERS = (Upvotes, Since, Before)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. ``str(q)`` / ``q.canonical`` re-parses to an equal ``Query``.

    The canonical form sorts and de-duplicates AND/OR operands, so ``b a`` and
    ``a b`` (or ``a  a b``) are the same saved subscription.
    """

    root: Node

    @property
    def canonical(self) -> str:
        return self.root.canonical

    def __str__(self) -> str:
        return self.canonical

    @property
    def has_text(self) -> bool:
        """True when some positive word/phrase/id drives relevance ranking."""
        return _has_positive_text(self.root)

    @property
    def paper_id(self) -> str | None:
        """The arXiv id when the whole query names one paper (an id or a URL)."""
        return self.root.paper_id if isinstance(self.root, IdTerm) else None


def _has_positive_text(node: Node) -> bool:
    if isinstance(node, (Term, IdTerm)):
        return True
    if isinstance(node, (And, Or)):
        return any(_has_positive_text(op) for op in node.operands)
    return False


def _sort_key(node: Node) -> tuple[int, str]:
    rank = 2 if isinstance(node, FILTERS) else 1 if isinstance(node, Not) else 0
    if isinstance(node, Not) and isinstance(node.operand, FILTERS):
        rank = 3
    return (rank, node.canonical)


def _combine(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    flat: list[Node] = []
    for op in operands:
        if isinstance(op, kind):
            flat.extend(op.operands)
        else:
            flat.append(op)
    unique = sorted(set(flat), key=_sort_key)
    return unique[0] if len(unique) == 1 else kind(tuple(unique))


# -- lexer -----------------------------------------------------------------------

_WORD, _PHRASE, _OR, _LP, _RP, _MINUS = "word", "phrase", "OR", "(", ")", "-"


@dataclass(slots=True)
class _Tok:
    kind: str
    pos: int
    text: str = ""  # raw text (words) or phrase body
    node: Node | None = None


def _err(message: str, pos: int | None) -> QueryError:
    where = f" (at character {pos + 1})" if pos is not None else ""
    return QueryError(message + where, position=pos)


def _read_phrase(text: str, start: int) -> tuple[str, bool, int]:
    """Read ``"..."`` (optionally followed by ``*``) at ``start``; return body, prefix, end."""
    end = text.find('"', start + 1)
    if end < 0:
        raise _err('Unclosed quote: add the closing " to end the phrase', start)
    body = text[start + 1 : end]
    end += 1
    prefix = end < len(text) and text[end] == "*"
    return body, prefix, end + (1 if prefix else 0)


def _phrase_term(body: str, prefix: bool, field: str | None, pos: int, raw: str) -> Term:
    tokens = tuple(normalize_tokens(body))
    if not tokens:
        raise _err(f"Empty phrase {raw}: put some words between the quotes", pos)
    return _checked_term(tokens, field, prefix, pos, raw)


def _checked_term(
    tokens: tuple[str, ...], field: str | None, prefix: bool, pos: int, raw: str
) -> Term:
    if prefix and len(tokens[-1]) < 2:
        raise _err(
            f"Prefix too short in {raw!r}: put at least 2 letters before the * (e.g. diff*)", pos
        )
    return Term(tokens, field, prefix)


def _word_node(raw: str, pos: int) -> Node | None:
    """Classify a bare (unquoted) word. None for pure punctuation (ignored)."""
    m = _URL_RE.match(raw) or _ID_RE.match(raw)
    if m:
        paper_id = m.group(1)
        if ARXIV_ID_RE.match(paper_id):
            return IdTerm(paper_id)
    prefix = raw.endswith("*")
    base = raw.rstrip("*")
    tokens = tuple(normalize_tokens(base))
    if not tokens:
        return None
    return _checked_term(tokens, None, prefix, pos, raw)


def _field_node(name: str, value: str, pos: int, raw: str) -> Node:
    field = name.lower()
    if field not in FIELDS:
        raise _err(
            f'Unknown field "{name}:" in {raw!r}; fields are {_FIELD_LIST} '
            f'(to search for the text itself, put it in quotes: "{raw}")',
            pos,
        )
    if not value:
        raise _err(f"{field}: needs a value right after the colon, e.g. {_EXAMPLES[field]}", pos)
    if field == "upvotes":
        m = _UPVOTES_RE.match(value)
        if not m or int(m.group(2)) > MAX_UPVOTES:
            raise _err(
                f"Bad upvotes value in {raw!r}: use a number with an optional >=, >, <=, < or =,"
                f" e.g. upvotes:>=20 (fields are {_FIELD_LIST})",
                pos,
            )
        return Upvotes(m.group(1) or ">=", int(m.group(2)))
    if field in ("since", "before"):
        day = None
        if _DATE_RE.match(value):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                day = None
        if day is None:
            raise _err(
                f"Bad date in {raw!r}: use YYYY-MM-DD, e.g. {_EXAMPLES[field]}"
                f" (fields are {_FIELD_LIST})",
                pos,
            )
        return Since(day) if field == "since" else Before(day)
    prefix = value.endswith("*")
    tokens = tuple(normalize_tokens(value.rstrip("*")))
    if not tokens:
        raise _err(f"{field}: needs letters or digits in its value, e.g. {_EXAMPLES[field]}", pos)
    return _checked_term(tokens, field, prefix, pos, raw)


_EXAMPLES = {
    "author": 'author:"zifeng wang"',
    "org": "org:google",
    "title": 'title:"world model"',
    "upvotes": "upvotes:>=20",
    "since": "since:2026-08-01",
    "before": "before:2026-08-01",
}


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(_Tok(_LP if c == "(" else _RP, i))
            i += 1
        elif c == '"':
            body, prefix, end = _read_phrase(text, i)
            toks.append(
                _Tok(_PHRASE, i, text[i:end], _phrase_term(body, prefix, None, i, text[i:end]))
            )
            i = end
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            if toks and toks[-1].kind == _MINUS and toks[-1].pos == i - 1:
                raise _err("Double minus: use a single - to exclude a term", i - 1)
            toks.append(_Tok(_MINUS, i))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '()"':
                i += 1
            raw = text[start:i]
            if raw == "OR":
                toks.append(_Tok(_OR, start, raw))
                continue
            node: Node | None
            fm = None if (_URL_RE.match(raw) or _ID_RE.match(raw)) else _FIELD_RE.match(raw)
            if fm and fm.group(2) == "" and i < n and text[i] == '"':
                # field:"quoted phrase"
                body, prefix, end = _read_phrase(text, i)
                raw = text[start:end]
                name = fm.group(1)
                field = name.lower()
                if field not in TEXT_FIELDS:
                    node = _field_node(name, text[i:end], start, raw)
                else:
                    node = _phrase_term(body, prefix, field, start, raw)
                i = end
            elif fm:
                node = _field_node(fm.group(1), fm.group(2), start, raw)
            else:
                node = _word_node(raw, start)
            if node is None:  # pure punctuation: ignored, and so is a "-" before it
                if toks and toks[-1].kind == _MINUS and toks[-1].pos == start - 1:
                    toks.pop()
                continue
            toks.append(_Tok(_WORD, start, raw, node))
    return toks


# -- parser ----------------------------------------------------------------------


_DANGLING_OR = "Dangling OR: put a term on both sides of OR, e.g. audio OR speech"
_EMPTY = "Empty query: type some words to search for, e.g. diffusion transformer"


class _Parser:
    def __init__(self, text: str, toks: list[_Tok]) -> None:
        self.text = text
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node:
        items = self.parse_and(depth=0)
        tok = self.peek()
        if tok is not None:  # only a stray ")" can stop parse_and at the top level
            raise _err("Unmatched ): remove it or add a ( before it", tok.pos)
        if not items:
            raise _err(_EMPTY, None)
        if all(isinstance(x, Not) for x in items):
            raise _err(
                "Only exclusions: add at least one word or filter to search for, "
                "e.g. agents -survey",
                None,
            )
        return _combine(And, items)

    def parse_and(self, depth: int) -> list[Node]:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind != _RP:
            items.append(self.parse_or(depth))
        return items

    def parse_or(self, depth: int) -> Node:
        first = self.peek()
        assert first is not None
        positions = [first.pos]
        operands = [self.parse_unary(depth)]
        while (tok := self.peek()) is not None and tok.kind == _OR:
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (_OR, _RP):
                raise _err(_DANGLING_OR, tok.pos)
            positions.append(nxt.pos)
            operands.append(self.parse_unary(depth))
        if len(operands) == 1:
            return operands[0]
        for op, pos in zip(operands, positions, strict=True):
            inner = op.operand if isinstance(op, Not) else op
            if isinstance(inner, FILTERS):
                raise _err(
                    f"{inner.canonical.split(':')[0]}: filters cannot be joined with OR;"
                    " write them next to the other terms instead",
                    pos,
                )
            if isinstance(op, Not):
                raise _err(
                    f"Cannot use OR with the exclusion -{inner.canonical}:"
                    " move the exclusion outside the OR",
                    pos,
                )
        return _combine(Or, operands)

    def parse_unary(self, depth: int) -> Node:
        tok = self.peek()
        assert tok is not None
        if tok.kind == _MINUS:
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in (_OR, _RP, _MINUS):
                raise _err("A - must be followed by the word, phrase or field to exclude", tok.pos)
            return Not(self.parse_atom(depth))
        return self.parse_atom(depth)

    def parse_atom(self, depth: int) -> Node:
        tok = self.peek()
        assert tok is not None
        if tok.kind == _OR:
            raise _err(_DANGLING_OR, tok.pos)
        if tok.kind == _RP:
            raise _err("Unmatched ): remove it or add a ( before it", tok.pos)
        self.i += 1
        if tok.kind == _LP:
            if depth + 1 > MAX_DEPTH:
                raise _err(f"Too many nested parentheses (at most {MAX_DEPTH})", tok.pos)
            items = self.parse_and(depth + 1)
            close = self.peek()
            if close is None:
                raise _err("Unclosed (: add a ) to close the group", tok.pos)
            self.i += 1
            if not items:
                raise _err("Empty parentheses: put some terms inside ( )", tok.pos)
            if all(isinstance(x, Not) for x in items):
                raise _err(
                    "A group needs at least one term that is not excluded, e.g. (agents -survey)",
                    tok.pos,
                )
            return _combine(And, items)
        node = tok.node
        assert node is not None
        if depth > 0 and isinstance(node, FILTERS):
            raise _err(
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
    toks = _lex(text)
    return Query(_Parser(text, toks).parse())

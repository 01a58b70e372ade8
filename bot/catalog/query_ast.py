"""The query language's tree: normalised tokens and the nodes ``parse_query`` builds.

Text is NFD-normalised, stripped of combining marks (accents), lower-cased and split on
anything that is not a letter or a digit (``normalize_tokens``); paper text and query
text go through the same function, so the index and the reference matcher agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Union

from paperpost.bot.papers.model import MAX_COUNT

FIELDS: tuple[str, ...] = ("author", "org", "title", "upvotes", "since", "before")
TEXT_FIELDS: tuple[str, ...] = ("author", "org", "title")
MAX_UPVOTES = MAX_COUNT  # stored upvotes are clamped to it, so no filter needs more

_TOKEN_RE = re.compile(r"[^\W_]+")
_COMPARE = {
    ">=": int.__ge__,
    ">": int.__gt__,
    "<=": int.__le__,
    "<": int.__lt__,
    "=": int.__eq__,
}


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


# -- AST -----------------------------------------------------------------------


def _quote(tokens: tuple[str, ...], prefix: bool) -> str:
    body = tokens[0] if len(tokens) == 1 else '"' + " ".join(tokens) + '"'
    return body + "*" if prefix else body


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase (a tuple of normalised tokens), optionally in one field.

    ``field`` is None (title, keywords, abstract, authors, organization), ``"title"``,
    ``"author"`` (within one author's name) or ``"org"``. ``prefix``: the last token
    is a prefix. ``exact``: a single quoted word (``"agents"``, ``title:"agents"``),
    matched as written rather than by its stem (phrases, prefixes, ``author:`` and
    ``org:`` never set it: names always match as written).
    """

    tokens: tuple[str, ...]
    field: str | None = None
    prefix: bool = False
    exact: bool = False

    @property
    def canonical(self) -> str:
        value = f'"{self.tokens[0]}"' if self.exact else _quote(self.tokens, self.prefix)
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


def combine(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    flat: list[Node] = []
    for op in operands:
        if isinstance(op, kind):
            flat.extend(op.operands)
        else:
            flat.append(op)
    unique = sorted(set(flat), key=_sort_key)
    return unique[0] if len(unique) == 1 else kind(tuple(unique))

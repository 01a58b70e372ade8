"""The query lexer: raw text to tokens, each word or field already a query node."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from paperpost.bot.catalog.query_ast import (
    FIELDS,
    MAX_UPVOTES,
    TEXT_FIELDS,
    Before,
    IdTerm,
    Node,
    Since,
    Term,
    Upvotes,
    normalize_tokens,
)
from paperpost.bot.errors import QueryError
from paperpost.bot.papers.model import ARXIV_ID_RE

FIELD_LIST = ", ".join(f"{f}:" for f in FIELDS)
_FIELD_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.S)
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


# -- lexer -----------------------------------------------------------------------

WORD, PHRASE, OR, LP, RP, MINUS = "word", "phrase", "OR", "(", ")", "-"


@dataclass(slots=True)
class Token:
    kind: str
    pos: int
    text: str = ""  # raw text (words) or phrase body
    node: Node | None = None


def query_error(message: str, pos: int | None) -> QueryError:
    where = f" (at character {pos + 1})" if pos is not None else ""
    return QueryError(message + where, position=pos)


def _read_phrase(text: str, start: int) -> tuple[str, bool, int]:
    """Read ``"..."`` (optionally followed by ``*``) at ``start``; return body, prefix, end."""
    end = text.find('"', start + 1)
    if end < 0:
        raise query_error('Unclosed quote: add the closing " to end the phrase', start)
    body = text[start + 1 : end]
    end += 1
    prefix = end < len(text) and text[end] == "*"
    return body, prefix, end + (1 if prefix else 0)


def _phrase_term(body: str, prefix: bool, field: str | None, pos: int, raw: str) -> Term:
    tokens = tuple(normalize_tokens(body))
    if not tokens:
        raise query_error(f"Empty phrase {raw}: put some words between the quotes", pos)
    if len(tokens) == 1 and not prefix and field in (None, "title"):
        # "agents", title:"agents": that form only (names are always as written)
        return Term(tokens, field, False, exact=True)
    return _checked_term(tokens, field, prefix, pos, raw)


def _checked_term(
    tokens: tuple[str, ...], field: str | None, prefix: bool, pos: int, raw: str
) -> Term:
    if prefix and len(tokens[-1]) < 2:
        raise query_error(
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
        raise query_error(
            f'Unknown field "{name}:" in {raw!r}; fields are {FIELD_LIST} '
            f'(to search for the text itself, put it in quotes: "{raw}")',
            pos,
        )
    if not value:
        raise query_error(
            f"{field}: needs a value right after the colon, e.g. {_EXAMPLES[field]}", pos
        )
    if field == "upvotes":
        m = _UPVOTES_RE.match(value)
        if not m or int(m.group(2)) > MAX_UPVOTES:
            raise query_error(
                f"Bad upvotes value in {raw!r}: use a number with an optional >=, >, <=, < or =,"
                f" e.g. upvotes:>=20 (fields are {FIELD_LIST})",
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
            raise query_error(
                f"Bad date in {raw!r}: use YYYY-MM-DD, e.g. {_EXAMPLES[field]}"
                f" (fields are {FIELD_LIST})",
                pos,
            )
        return Since(day) if field == "since" else Before(day)
    prefix = value.endswith("*")
    tokens = tuple(normalize_tokens(value.rstrip("*")))
    if not tokens:
        raise query_error(
            f"{field}: needs letters or digits in its value, e.g. {_EXAMPLES[field]}", pos
        )
    return _checked_term(tokens, field, prefix, pos, raw)


_EXAMPLES = {
    "author": 'author:"zifeng wang"',
    "org": "org:google",
    "title": 'title:"world model"',
    "upvotes": "upvotes:>=20",
    "since": "since:2026-08-01",
    "before": "before:2026-08-01",
}


def lex(text: str) -> list[Token]:
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(Token(LP if c == "(" else RP, i))
            i += 1
        elif c == '"':
            body, prefix, end = _read_phrase(text, i)
            toks.append(
                Token(PHRASE, i, text[i:end], _phrase_term(body, prefix, None, i, text[i:end]))
            )
            i = end
        elif c == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != ")":
            if toks and toks[-1].kind == MINUS and toks[-1].pos == i - 1:
                raise query_error("Double minus: use a single - to exclude a term", i - 1)
            toks.append(Token(MINUS, i))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '()"':
                i += 1
            raw = text[start:i]
            if raw == "OR":
                toks.append(Token(OR, start, raw))
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
                if toks and toks[-1].kind == MINUS and toks[-1].pos == start - 1:
                    toks.pop()
                continue
            toks.append(Token(WORD, start, raw, node))
    return toks

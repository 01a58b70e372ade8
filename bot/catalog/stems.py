"""Word forms: the Snowball English stemmer, the one function index and matcher share.

Both the search index (its ``*_s`` fields, ``bot.catalog.index_documents``) and the
reference matcher (``bot.catalog.query_match``) stem tokens here, in Python, so they
agree by construction (tantivy's own stemmer filter is never used: a second
implementation could drift). ``snowballstemmer`` is the reference Snowball code
compiled to Python; a dict caches each word's stem, since the vocabulary is small
next to the text (the build stays a dict lookup per token).
"""

from __future__ import annotations

from collections.abc import Iterable

import snowballstemmer  # type: ignore[import-untyped]

from paperpost.bot.catalog.acronyms import singular

_STEMMER = snowballstemmer.stemmer("english")
_CACHE: dict[str, str] = {}
_CACHE_LIMIT = 500_000  # words; past it the cache starts over (bounded memory)


def stem(token: str) -> str:
    """The stem of one normalised token (letters and digits, lower case)."""
    found = _CACHE.get(token)
    if found is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        found = _STEMMER.stemWord(token) if token.isalpha() else token
        found = singular(found)  # "LLMs" is the acronym LLM (Snowball keeps "llms")
        _CACHE[token] = found
    return found


def stem_tokens(tokens: Iterable[str]) -> tuple[str, ...]:
    return tuple(stem(t) for t in tokens)


def stem_text(text: str) -> str:
    """Space-separated normalised words to their stems, other separators kept."""
    get = _CACHE.get  # the hot path of an index build: one dict lookup per word
    return " ".join([get(t) or stem(t) for t in text.split(" ")])


def stem_words(text: str) -> list[str]:
    """The stems of whitespace-separated normalised words (the index's build path)."""
    get = _CACHE.get
    return [get(t) or stem(t) for t in text.split()]

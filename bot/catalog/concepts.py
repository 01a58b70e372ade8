"""Acronym concepts, indexed beside the stems so an acronym search is one term lookup.

``LLM`` means "the word llm or the phrase large language model" (``bot.catalog.
query_expand``). Matching that phrase at query time means reading the positions of
every paper holding "large", "language" and "model" (half the corpus): 10 ms at
100,000 papers. So the index also stores, per prose field, one concept token per
occurrence of either form (``title_c``, ``keywords_c``, ``abstract_c``), and the
compiler asks that field for one term instead of the phrase.

Only acronyms whose expansion is one phrase (by its stems) that stands for that
acronym only are concepts: then "the word or the phrase" is exactly what the query
``llm`` and the query ``"large language model"`` both expand to, so the index still
returns exactly what the reference matcher accepts. The others (``SFT``, with two
spellings of fine-tuning, ``MLP``) keep matching their phrases at query time.
"""

from __future__ import annotations

from functools import lru_cache

from paperpost.bot.catalog.acronyms import ACRONYMS
from paperpost.bot.catalog.stems import stem, stem_tokens


@lru_cache(maxsize=1)
def _concepts() -> dict[tuple[str, ...], str]:
    """Stems of an acronym, or of its one phrase -> the concept token (the acronym)."""
    phrases: dict[tuple[str, ...], set[str]] = {}
    for acronym, spelled in ACRONYMS.items():
        for phrase in spelled:
            phrases.setdefault(stem_tokens(phrase), set()).add(acronym)
    out: dict[tuple[str, ...], str] = {}
    for acronym, spelled in ACRONYMS.items():
        forms = {stem_tokens(p) for p in spelled}
        if len(forms) != 1:
            continue
        (phrase,) = forms
        if phrases[phrase] == {acronym} and stem(acronym) == acronym:
            out[(acronym,)] = acronym
            out[phrase] = acronym
    return out


def concept_of(stems: tuple[str, ...]) -> str | None:
    """The concept a word or phrase (as stems) stands for, if it is one."""
    return _concepts().get(stems)


@lru_cache(maxsize=1)
def _by_first() -> dict[str, tuple[tuple[str, str], ...]]:
    """First stem of each form -> (the form as a space-padded needle, the concept)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for stems, concept in _concepts().items():
        out.setdefault(stems[0], []).append((f" {' '.join(stems)} ", concept))
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def _firsts() -> frozenset[str]:
    return frozenset(_by_first())


def concept_tokens(stemmed: str | list[str]) -> str:
    """The concept tokens of stemmed text (a string, or its words), one per occurrence
    of each form. A phrase never spans a token that is not a word (an item separator)."""
    words = stemmed.split() if isinstance(stemmed, str) else stemmed
    starts = _firsts().intersection(words)  # the common case ends here, in C
    if not starts:
        return ""
    by_first = _by_first()
    found: list[str] = []
    padded = f" {' '.join(words)} "
    for first in starts:
        for needle, concept in by_first[first]:
            found += [concept] * padded.count(needle)
    return " ".join(found)

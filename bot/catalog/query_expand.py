"""Acronym expansion of a parsed query, shared by the index and the reference matcher.

``expand(root)`` returns a tree where

* a word that is a known acronym (``LLM``, ``llms``) becomes ``(llm OR "large
  language model")``;
* a phrase that spells out an acronym (``"large language models"``) becomes
  ``("large language models" OR llm)``;
* plain words of one AND group that together spell it out (``large language
  models reasoning``) become ``((large language models) OR llm) reasoning``.

Only words searched everywhere or in ``title:`` expand; quoted single words
(exact forms), prefixes, ``author:`` and ``org:`` never do. The result is used for
matching only: the canonical query a subscription saves is the one typed.
"""

from __future__ import annotations

from functools import lru_cache

from paperpost.bot.catalog.acronyms import ACRONYMS
from paperpost.bot.catalog.query_ast import And, Node, Not, Or, Term
from paperpost.bot.catalog.stems import stem, stem_tokens

_EXPANDS_IN = (None, "title")


@lru_cache(maxsize=1)
def _by_stems() -> dict[tuple[str, ...], tuple[str, ...]]:
    """Stemmed expansion -> the acronyms it stands for."""
    out: dict[tuple[str, ...], list[str]] = {}
    for acronym, phrases in ACRONYMS.items():
        for phrase in phrases:
            out.setdefault(stem_tokens(phrase), []).append(acronym)
    return {k: tuple(v) for k, v in out.items()}


def _plain(node: Node) -> bool:
    return (
        isinstance(node, Term) and node.field in _EXPANDS_IN and not node.prefix and not node.exact
    )


def _single(node: Node) -> bool:
    """A plain one-word term searched everywhere (may spell out an acronym with others)."""
    return _plain(node) and node.field is None and len(node.tokens) == 1  # type: ignore[union-attr]


def _term(node: Term) -> Node:
    if not _plain(node):
        return node
    if len(node.tokens) == 1:
        phrases = ACRONYMS.get(stem(node.tokens[0]), ())
        extra: list[Node] = [Term(p, node.field) for p in phrases]
    else:
        extra = [Term((a,), node.field) for a in _by_stems().get(stem_tokens(node.tokens), ())]
    return Or((node, *extra)) if extra else node


def _and(operands: tuple[Node, ...]) -> Node:
    words = {
        stem(op.tokens[0]): op  # type: ignore[union-attr]
        for op in operands
        if _single(op)
    }
    used: set[str] = set()
    groups: list[Node] = []
    for stems, acronyms in _by_stems().items():
        if len(stems) > 1 and all(s in words and s not in used for s in stems):
            used.update(stems)
            spelled = And(tuple(words[s] for s in dict.fromkeys(stems)))
            groups.append(Or((spelled, *(Term((a,)) for a in acronyms))))
    rest = [
        expand(op)
        for op in operands
        if not (_single(op) and stem(op.tokens[0]) in used)  # type: ignore[union-attr]
    ]
    items = (*groups, *rest)
    return items[0] if len(items) == 1 else And(items)


def expand(node: Node) -> Node:
    if isinstance(node, Term):
        return _term(node)
    if isinstance(node, And):
        return _and(node.operands)
    if isinstance(node, Or):
        return Or(tuple(expand(op) for op in node.operands))
    if isinstance(node, Not):
        return Not(expand(node.operand))
    return node


@lru_cache(maxsize=4096)
def expanded(root: Node) -> Node:
    """``expand``, cached: digests match the same few queries against many papers."""
    return expand(root)

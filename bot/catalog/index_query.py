"""Parsed queries to ``tantivy.Query`` objects, node by node.

User text never reaches tantivy's query parser: every token goes in as a term (term,
phrase, term set of the indexed words with a prefix, regex phrase ``literal ... prefix.*``
for prefix phrases), with boolean Must/MustNot/Should, fast-field ranges and boosts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tantivy

from paperpost.bot.catalog.concepts import concept_of
from paperpost.bot.catalog.index_documents import BOOSTS, CONCEPTS, FIELDS, STEMMED, SUMMARY
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
)
from paperpost.bot.catalog.query_expand import expanded
from paperpost.bot.catalog.stems import stem_tokens

# The relaxed search also finds a word in the AI summary, weighted like a keyword: the
# summary says in plain words what the abstract says in the paper's terms. 0: the
# summary is not searched (how benchmarks/relevance.py measures what it adds).
SUMMARY_BOOST = 5.0
# Per word a relaxed match holds: above any bm25 sum, and float32 keeps bm25's order.
WORD_SCORE = 10_000.0
PHRASE_PREFIX_MAX = 50  # tantivy's PhrasePrefixQuery max_expansions default
_TERM_FIELDS = {None: FIELDS, "title": ("title",), "author": ("authors",), "org": ("org",)}


def _boosted(q: tantivy.Query, boost: float) -> tantivy.Query:
    return q if boost == 1.0 else tantivy.Query.boost_query(q, boost)


def _filter(q: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.const_score_query(q, 0.0)  # filters never change relevance


def _range(
    schema: tantivy.Schema,
    field: str,
    lo: int | None,
    hi: int | None,
    lo_incl: bool = True,
    hi_incl: bool = True,
) -> tantivy.Query:
    return tantivy.Query.range_query(
        schema, field, tantivy.FieldType.Integer, lo, hi, lo_incl, hi_incl
    )


class _Compiler:
    """Turns a parsed query into a ``tantivy.Query``; every token goes in as a term."""

    def __init__(self, schema: tantivy.Schema, searcher: tantivy.Searcher, expand: bool) -> None:
        self.schema = schema
        self.searcher = searcher
        self.expand = expand  # expand prefix phrases here instead of with regex_phrase_query

    def node(self, node: Node) -> tantivy.Query:
        Q, s = tantivy.Query, self.schema
        if isinstance(node, Term):
            parts = list(self.clauses(node).values())
            return parts[0] if len(parts) == 1 else self.should(parts)
        if isinstance(node, IdTerm):
            return Q.term_query(s, "pid", node.paper_id)
        if isinstance(node, Or):
            # The words of an OR as one flat list of field clauses (a sum of scores
            # either way), each once: "llm" and "large language model" are one concept.
            clauses: dict[tuple[str, tuple[str, ...]], tantivy.Query] = {}
            others = []
            for op in node.operands:
                if isinstance(op, Term):
                    for key, q in self.clauses(op).items():
                        clauses.setdefault(key, q)
                else:
                    others.append(self.node(op))
            return self.should([*clauses.values(), *others])
        if isinstance(node, And):
            return self.conj(node.operands)
        if isinstance(node, Not):
            return self.conj((node,))
        if isinstance(node, Upvotes):
            v = node.value
            lo, hi, lo_incl, hi_incl = {
                ">=": (v, None, True, True),
                ">": (v, None, False, True),
                "<=": (None, v, True, True),
                "<": (None, v, True, False),
                "=": (v, v, True, True),
            }[node.op]
            return _filter(_range(s, "upvotes", lo, hi, lo_incl, hi_incl))
        if isinstance(node, Since):  # some featured day >= D
            return _filter(_range(s, "last_day", node.day.toordinal(), None))
        if isinstance(node, Before):  # some featured day < D
            return _filter(_range(s, "first_day", None, node.day.toordinal(), hi_incl=False))
        raise TypeError(f"not a query node: {node!r}")

    def should(self, parts: list[tantivy.Query]) -> tantivy.Query:
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in parts])

    def conj(self, operands: Iterable[Node]) -> tantivy.Query:
        clauses = []
        for op in operands:
            if isinstance(op, Not):
                clauses.append((tantivy.Occur.MustNot, self.node(op.operand)))
            else:
                clauses.append((tantivy.Occur.Must, self.node(op)))
        if all(occur == tantivy.Occur.MustNot for occur, _ in clauses):
            # tantivy matches nothing with only MustNot clauses: start from every document.
            clauses.append((tantivy.Occur.Must, _filter(tantivy.Query.all_query())))
        return tantivy.Query.boolean_query(clauses)

    def clauses(self, term: Term) -> dict[tuple[str, tuple[str, ...]], tantivy.Query]:
        """One boosted query per field the term searches, keyed by what it asks."""
        out: dict[tuple[str, tuple[str, ...]], tantivy.Query] = {}
        for f in _TERM_FIELDS[term.field]:
            key, query = self.word(f, term)
            out.setdefault(key, _boosted(query, BOOSTS[f]))
        return out

    def word(self, field: str, term: Term) -> tuple[tuple[str, tuple[str, ...]], tantivy.Query]:
        """Words and phrases by their stems in the prose fields (an acronym or its phrase
        as one concept term); names, prefixes and quoted single words as written
        (``bot.catalog.query_match`` does the same)."""
        if term.prefix or term.exact or field not in STEMMED:
            key = (field, (*term.tokens, "*") if term.prefix else term.tokens)
            return key, self.term(field, term)
        stems = stem_tokens(term.tokens)
        concept = concept_of(stems)
        if concept is not None:
            return (CONCEPTS[field], (concept,)), tantivy.Query.term_query(
                self.schema, CONCEPTS[field], concept
            )
        return (STEMMED[field], stems), self.term(STEMMED[field], Term(stems, term.field))

    def term(self, field: str, term: Term) -> tantivy.Query:
        Q, s = tantivy.Query, self.schema
        toks: list[str | tuple[int, str]] = list(term.tokens)
        if not term.prefix:
            if len(toks) == 1:
                return Q.term_query(s, field, toks[0])
            return Q.phrase_query(s, field, toks)
        if len(toks) == 1:
            # Every indexed word with that prefix, as a term set: exact (no expansion cap)
            # and ~5x cheaper than compiling the Unicode DFA of a regex_query "tr.*".
            words = [w for w, _ in self.searcher.terms_with_prefix(field, term.tokens[0])]
            return Q.term_set_query(s, field, words) if words else Q.empty_query()
        if not self.expand:
            # tantivy's phrase prefix query is about 2x faster than a regex phrase but
            # stops at its first 50 completions: exact only when there are no more.
            last = term.tokens[-1]
            completions = self.searcher.terms_with_prefix(field, last, limit=PHRASE_PREFIX_MAX + 1)
            if len(completions) <= PHRASE_PREFIX_MAX:
                return Q.phrase_prefix_query(s, field, list(term.tokens))
            # Tokens are letters and digits only (normalize_tokens), so literal in a regex.
            return Q.regex_phrase_query(s, field, [*term.tokens[:-1], last + ".*"])
        # Fallback for a prefix with very many completions: only the last words that
        # occur in documents holding the phrase's leading words, one phrase each.
        lead = toks[:-1]
        within = (
            Q.term_query(s, field, term.tokens[0])
            if len(lead) == 1
            else Q.phrase_query(s, field, lead)
        )
        counted = self.searcher.terms_with_prefix(field, term.tokens[-1], filter_query=within)
        phrases = [Q.phrase_query(s, field, [*lead, w]) for w, n in counted if n > 0]
        return self.should(phrases) if phrases else Q.empty_query()


def compile_query(
    schema: tantivy.Schema, searcher: tantivy.Searcher, query: Query, *, expand: bool = False
) -> tantivy.Query:
    return _Compiler(schema, searcher, expand).node(expanded(query.root))


def compile_relaxed(
    schema: tantivy.Schema,
    searcher: tantivy.Searcher,
    words: Sequence[Term],
    others: Sequence[Node],
    need: int,
) -> tantivy.Query:
    """At least ``need`` of ``words`` (each by its forms and acronyms, or in the AI
    summary) and every one of ``others``; scored ``WORD_SCORE`` per word held plus
    bm25, so the papers holding the most words come first in one search."""
    c = _Compiler(schema, searcher, False)
    Q, should = tantivy.Query, tantivy.Occur.Should
    shoulds = []
    for word in words:
        query = c.node(expanded(word))
        if SUMMARY_BOOST > 0 and not word.prefix and not word.exact:
            summary = c.term(SUMMARY, Term(stem_tokens(word.tokens)))
            query = c.should([query, _boosted(summary, SUMMARY_BOOST)])
        held = Q.const_score_query(query, WORD_SCORE)
        shoulds.append((should, Q.boolean_query([(should, held), (should, query)])))
    any_words = Q.boolean_query(shoulds, minimum_number_should_match=need)
    if not others:
        return any_words
    return Q.boolean_query([(tantivy.Occur.Must, any_words), (tantivy.Occur.Must, c.conj(others))])

"""Search helpers beyond exact matching: did-you-mean, relaxed search, similar papers.

* ``suggest``: a query with no match whose words are not indexed gets the closest
  indexed words (edit distance 1, else 2; among equals the one in most papers), with
  the corrected query's result count. It only suggests: nothing is rewritten.
* ``relaxed``: for a plain AND of words that matches nothing, the best bm25 matches
  among papers holding at least half of the words (``RELAXED_SHARE``), each by its
  forms and acronyms or in the paper's AI summary (indexed for this search only);
  papers holding more of the words first.
  Search only: subscriptions never relax and never read the summary.
* ``similar``: one paper's salient stems (tf x idf, title words weighted by the title
  boost) as a weighted OR over the stemmed fields, the paper itself excluded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import tantivy
from rapidfuzz import process
from rapidfuzz.distance import OSA

from paperpost.bot.catalog.index import SearchHit, TantivyIndex
from paperpost.bot.catalog.index_documents import BOOSTS, STEMMED
from paperpost.bot.catalog.query_ast import And, Node, Not, Or, Query, Term, normalize_tokens
from paperpost.bot.catalog.stems import stem
from paperpost.bot.papers.model import Paper

RELAXED_SHARE = 0.5  # a relaxed match holds at least half of the query's words
SIMILAR_TERMS = 25
# Distance 2 scans the whole vocabulary (rapidfuzz, a few ms): only for short words, a
# few per query, so a query of many garbage words stays quick.
MAX_FAR_LENGTH = 9
MAX_FAR_WORDS = 2
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
_VOCAB_FIELDS = ("title", "keywords", "abstract")


@dataclass(frozen=True, slots=True)
class Suggestion:
    query: str  # the corrected query, canonical
    count: int  # papers it finds


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    out |= {a + c + b for a, b in splits for c in _LETTERS}
    return out


class Relevance:
    def __init__(self, index: Callable[[], TantivyIndex], get: Callable[[str], Paper | None]):
        self._index = index
        self._get = get
        self._vocab: tuple[object, dict[str, int], dict[int, list[str]]] | None = None
        self._vocab_lock = threading.Lock()  # concurrent commands build it once

    def vocabulary(self) -> dict[str, int]:
        """Every indexed word as written -> papers holding it (cached per commit)."""
        return self._vocabulary()[0]

    def _vocabulary(self) -> tuple[dict[str, int], dict[int, list[str]]]:
        """The vocabulary, and its words by length (distance 2 needs lengths within 2)."""
        searcher = self._index().searcher()
        with self._vocab_lock:
            if self._vocab is None or self._vocab[0] is not searcher:
                vocab: dict[str, int] = {}
                for field in _VOCAB_FIELDS:
                    for term, n in searcher.terms_with_prefix(field, ""):
                        vocab[term] = max(n, vocab.get(term, 0))
                by_length: dict[int, list[str]] = {}
                for term in vocab:
                    by_length.setdefault(len(term), []).append(term)
                self._vocab = (searcher, vocab, by_length)
            return self._vocab[1], self._vocab[2]

    def correct(self, word: str, *, far: bool = True) -> str | None:
        """The most common indexed word 1 edit away, else 2 (when ``far``)."""
        vocab, by_length = self._vocabulary()
        if word in vocab or not word.isalpha() or len(word) < 3 or len(word) > 40:
            return None
        near = [w for w in _edits1(word) if w in vocab]
        if not near and far and len(word) <= MAX_FAR_LENGTH:
            # Two rounds of _edits1 (optimal string alignment distance 2), in C: the Python
            # double loop held the GIL ~100 ms per word at 100,000 papers.
            n = len(word)
            words = [w for k in range(n - 2, n + 3) for w in by_length.get(k, ())]
            found = process.extract(word, words, scorer=OSA.distance, score_cutoff=2, limit=None)
            near = [w for w, _, _ in found]
        return max(near, key=lambda w: (vocab[w], w)) if near else None

    def suggest(self, query: Query) -> Suggestion | None:
        changed = False
        far_left = MAX_FAR_WORDS

        def correct(token: str) -> str:
            nonlocal far_left
            far_left -= token not in self.vocabulary()
            return self.correct(token, far=far_left >= 0) or token

        def fix(node: Node) -> Node:
            nonlocal changed
            if isinstance(node, Term) and not node.prefix and node.field in (None, "title"):
                tokens = tuple(correct(t) for t in node.tokens)
                changed = changed or tokens != node.tokens
                return Term(tokens, node.field, node.prefix, node.exact)
            if isinstance(node, (And, Or)):
                return type(node)(tuple(fix(op) for op in node.operands))
            if isinstance(node, Not):
                return node
            return node

        fixed = Query(fix(query.root))
        if not changed:
            return None
        count = self._index().count_matches(fixed)
        return Suggestion(fixed.canonical, count) if count else None

    def relaxed(self, query: Query, *, limit: int) -> list[Paper]:
        """Best bm25 matches holding at least ``RELAXED_SHARE`` of the words, each by
        its forms and acronyms or in the paper's AI summary; [] if not relaxable."""
        root = query.root
        if not isinstance(root, And):
            return []
        words = [op for op in root.operands if isinstance(op, Term) and op.field is None]
        if len(words) < 2:
            return []
        others = [op for op in root.operands if op not in words]
        least = max(1, math.ceil(len(words) * RELAXED_SHARE - 1e-9))
        hits = self._index().search_relaxed(words, others, least, limit=limit)
        return list(self._papers(hits))

    def similar(self, paper: Paper, *, limit: int) -> list[Paper]:
        index = self._index()
        searcher, schema = index.searcher(), index.schema
        n = max(searcher.num_docs, 1)
        weights: dict[str, float] = {}
        for text, boost in (
            (paper.title, BOOSTS["title"]),
            (" ".join(paper.ai_keywords), BOOSTS["keywords"]),
            (paper.abstract, BOOSTS["abstract"]),
        ):
            for token in normalize_tokens(text):
                if len(token) > 2 and token.isalpha():
                    weights[stem(token)] = weights.get(stem(token), 0.0) + boost
        scored = []
        for term, tf in weights.items():
            df = searcher.doc_freq("abstract_s", term) + searcher.doc_freq("title_s", term)
            if df >= 2:  # a word of this paper only says nothing about others
                scored.append((math.log1p(tf) * math.log(1 + n / df), term))
        top = sorted(scored, reverse=True)[:SIMILAR_TERMS]
        if not top:
            return []
        Q = tantivy.Query
        should = [
            (
                tantivy.Occur.Should,
                Q.boost_query(Q.term_query(schema, STEMMED[f], t), w * BOOSTS[f]),
            )
            for w, t in top
            for f, b in ((f, BOOSTS[f]) for f in STEMMED)
        ]
        query = Q.boolean_query(
            [
                (tantivy.Occur.Must, Q.boolean_query(should)),
                (tantivy.Occur.MustNot, Q.term_query(schema, "pid", paper.id)),
            ]
        )
        result = searcher.search(query, limit, weight_by_field="rank").hits
        hits = [SearchHit(searcher.doc(a)["pid"][0], float(s)) for s, a in result]
        return list(self._papers(hits))

    def _papers(self, hits: list[SearchHit]) -> Iterator[Paper]:
        for hit in hits:
            paper = self._get(hit.paper_id)
            if paper is not None:
                yield paper

"""Full-text search over papers with tantivy: the same API and semantics as ``SearchIndex``.

Layout
------
One tantivy document per paper. ``title`` and ``abstract`` are single text values;
``keywords``, ``authors`` and ``org`` (display name + hub slug) hold one value per item,
and tantivy leaves a position gap between values, so a phrase never spans two authors.
Every text value is indexed already normalised, exactly as ``bot.catalog.query.normalize_tokens``
splits it, through a plain whitespace tokenizer: index and ``bot.catalog.query_match.matches`` agree
token for token. ``pid`` (raw, stored) is the paper id; ``upvotes``, ``first_day`` and
``last_day`` (day ordinals) are fast integer fields for the filters; ``rank`` is a fast
float field derived from upvotes (below). User text never reaches tantivy's query parser:
queries are built node by node with ``tantivy.Query`` (term, phrase, term set of the
indexed words with a prefix, regex phrase ``literal ... prefix.*`` for prefix phrases,
boolean Must/MustNot/Should, fast-field ranges, boosts).

Ranking (higher is better)::

    score = bm25(title x10, keywords x5, abstract x1, authors x1, org x1)
            * (1 + 0.25 * ln(1 + upvotes))

the same blend as the FTS5 index, but exact over every match: tantivy's
``weight_by_field`` multiplies each match's bm25 by ``log2(2 + rank)`` while it collects
the top hits, and ``rank = 2 ** (1 + 0.25 * ln(1 + upvotes)) - 2`` makes that factor
``1 + 0.25 * ln(1 + upvotes)``. So no rank window: a low-upvote paper is never cut from a
broad query. Prefix terms score a constant (x field boost), as tantivy's regex queries do.
Queries without words (only filters) are ordered by the ``upvotes`` fast field and score
``1 + 0.25 * ln(1 + upvotes)``.

On disk ``path`` is a directory holding the tantivy files and ``paperpost-schema``
(``SCHEMA_VERSION``); ``open`` rebuilds it when missing, unreadable or of another version.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import tantivy

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
    normalize_tokens,
    parse_query,
)
from paperpost.bot.papers.model import Paper

__all__ = ["SCHEMA_VERSION", "SearchHit", "TantivyIndex"]

SCHEMA_VERSION = "tantivy-1"
VERSION_FILE = "paperpost-schema"
UPVOTE_WEIGHT = 0.25
WRITER_HEAP = 50_000_000  # bytes: tantivy flushes a segment when this arena is full
WORDS = "paperpost_words"  # the tokenizer of the text fields
BOOSTS = {"title": 10.0, "keywords": 5.0, "abstract": 1.0, "authors": 1.0, "org": 1.0}
FIELDS = tuple(BOOSTS)
_TERM_FIELDS = {None: FIELDS, "title": ("title",), "author": ("authors",), "org": ("org",)}
_NO_DAY_FIRST = date.max.toordinal()  # a paper without featured days never matches since:/before:
_NO_DAY_LAST = 0
# Files tantivy (and we) put in the directory: only these are removed on a rebuild.
_OWN_SUFFIXES = {".idx", ".pos", ".term", ".store", ".fast", ".fieldnorm", ".del", ".lock"}
_OWN_NAMES = {"meta.json", ".managed.json", VERSION_FILE}
# ASCII text: every non-alphanumeric byte becomes a space and letters are lower-cased,
# which is what normalize_tokens does to ASCII (and 25x faster than its regex).
_ASCII_MAP = {c: " " for c in range(128) if not chr(c).isalnum()}
_ASCII_MAP.update({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper_id: str
    score: float


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("pid", stored=True, tokenizer_name="raw", index_option="basic")
    for name in FIELDS:
        sb.add_text_field(name, tokenizer_name=WORDS)
    sb.add_integer_field("upvotes", indexed=True, fast=True)
    sb.add_integer_field("first_day", fast=True)
    sb.add_integer_field("last_day", fast=True)
    sb.add_float_field("rank", fast=True)
    return sb.build()


def _analyzer() -> tantivy.TextAnalyzer:
    # Whitespace only: no lower-casing, no long-token removal (the text is pre-normalised).
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def _popularity(upvotes: int) -> float:
    return 1.0 + UPVOTE_WEIGHT * math.log1p(max(upvotes, 0))


def _norm(text: str) -> str:
    if text.isascii():
        return text.translate(_ASCII_MAP)
    return " ".join(normalize_tokens(text))


def _document(schema: tantivy.Schema, p: Paper) -> tantivy.Document:
    orgs = [x for x in (p.organization, p.organization_slug) if x]
    days = p.featured_days
    fields: dict[str, object] = {
        "pid": p.id,
        "title": _norm(p.title),
        "abstract": _norm(p.abstract),
        # One value per item: tantivy puts a position gap between values. Empty values
        # are left out (matches() skips them too).
        "keywords": [t for t in map(_norm, p.ai_keywords) if t.strip()],
        "authors": [t for t in map(_norm, p.authors) if t.strip()],
        "org": [t for t in map(_norm, orgs) if t.strip()],
        "upvotes": p.upvotes,
        "first_day": min(days).toordinal() if days else _NO_DAY_FIRST,
        "last_day": max(days).toordinal() if days else _NO_DAY_LAST,
        "rank": 2.0 ** _popularity(p.upvotes) - 2.0,
    }
    return tantivy.Document.from_dict(fields, schema)  # one call: faster than add_* each


def _remove_index_files(directory: Path) -> None:
    for f in directory.iterdir():
        if f.is_file() and (f.name in _OWN_NAMES or f.suffix in _OWN_SUFFIXES):
            f.unlink()


class TantivyIndex:
    """A thread-safe tantivy index of papers. See the module docstring for the design."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()  # one writer at a time; swaps of the searcher
        self._schema = _schema()
        self.created = False
        if self.path == ":memory:":
            self._index = tantivy.Index(self._schema)
            self.created = True
        else:
            directory = Path(path)
            directory.mkdir(parents=True, exist_ok=True)
            version = directory / VERSION_FILE
            if not version.is_file() or version.read_text("utf-8").strip() != SCHEMA_VERSION:
                _remove_index_files(directory)
                self.created = True
            self._index = tantivy.Index(self._schema, path=self.path, reuse=not self.created)
            if self.created:
                self._set_version(SCHEMA_VERSION)
        self._index.register_tokenizer(WORDS, _analyzer())
        self._index.reload()
        self._searcher: tantivy.Searcher | None = self._index.searcher()

    # -- lifecycle ---------------------------------------------------------------
    def _set_version(self, version: str | None) -> None:
        if self.path == ":memory:":
            return
        file = Path(self.path) / VERSION_FILE
        if version is None:
            file.unlink(missing_ok=True)
        else:
            tmp = file.with_suffix(".tmp")
            tmp.write_text(version + "\n", "utf-8")
            tmp.replace(file)

    @classmethod
    def open(cls, path: str | Path, load_papers: Callable[[], Iterable[Paper]]) -> TantivyIndex:
        """Open the index directory ``path``; rebuild it from ``load_papers()`` when it is
        missing, empty, unreadable or of another schema version (the index is a cache)."""
        try:
            index = cls(path)
            index.count()
        except (ValueError, OSError):  # tantivy reports a damaged index as ValueError
            cls.remove(path)
            index = cls(path)
        if index.created or index.count() == 0:
            # No version file until the load is complete: a crash mid-load rebuilds again.
            index._set_version(None)
            index.upsert(load_papers())
            index._set_version(SCHEMA_VERSION)
        return index

    @staticmethod
    def remove(path: str | Path) -> None:
        """Delete an on-disk index (its files only; the directory itself stays)."""
        directory = Path(path)
        if directory.is_dir():
            _remove_index_files(directory)
        elif directory.exists():
            directory.unlink()  # e.g. an old single-file index at the same path

    def close(self) -> None:
        with self._lock:
            self._searcher = None

    def __enter__(self) -> TantivyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current(self) -> tantivy.Searcher:
        searcher = self._searcher
        if searcher is None:
            raise RuntimeError("the search index is closed")
        return searcher

    # -- writing -------------------------------------------------------------------
    def upsert(self, papers: Iterable[Paper]) -> None:
        """Insert papers, or replace them (same id: one document, new upvotes/days/text).

        One commit per call. The writer lives only for the call: its arena (``WRITER_HEAP``)
        is freed afterwards and the directory lock is not held between updates.
        """
        with self._lock:
            before = self._current()
            seen: set[str] = set()
            writer: tantivy.IndexWriter | None = None
            try:
                # Streamed, never held in memory. Deletes only for ids that may exist
                # (each queued delete costs ~1 KB until the commit); a delete applies to
                # the documents added before it, so a paper twice in one call is one doc.
                for paper in papers:
                    if writer is None:
                        writer = self._index.writer(heap_size=WRITER_HEAP, num_threads=1)
                    pid = paper.id
                    if pid in seen or before.doc_freq("pid", pid) > 0:
                        writer.delete_documents_by_term("pid", pid)
                    seen.add(pid)
                    writer.add_document(_document(self._schema, paper))
                if writer is None:
                    return
                writer.commit()
            except BaseException:
                if writer is not None:
                    writer.rollback()
                raise
            finally:
                if writer is not None:
                    writer.wait_merging_threads()  # finish merges, drop the writer + its lock
            self._index.reload()
            self._searcher = self._index.searcher()

    # -- reading -------------------------------------------------------------------
    def count(self) -> int:
        return self._current().num_docs

    def search(self, query: Query | str, *, limit: int | None = 10) -> list[SearchHit]:
        """Papers matching ``query``, best first. ``limit=None``: every match, all ranked."""
        if isinstance(query, str):
            query = parse_query(query)
        if limit is not None and limit <= 0:
            return []
        searcher = self._current()  # a consistent snapshot; no lock needed to read it
        n = searcher.num_docs
        if n == 0:
            return []
        k = n if limit is None else min(limit, n)
        try:
            scored = self._top(searcher, compile_query(self._schema, searcher, query), query, k)
        except ValueError as e:
            if "max expansions" not in str(e):
                raise
            compiled = compile_query(self._schema, searcher, query, expand=True)
            scored = self._top(searcher, compiled, query, k)
        return [SearchHit(searcher.doc(a)["pid"][0], s) for s, a in scored]

    @staticmethod
    def _top(
        searcher: tantivy.Searcher, compiled: tantivy.Query, query: Query, k: int
    ) -> list[tuple[float, tantivy.DocAddress]]:
        if query.has_text:
            hits = searcher.search(compiled, k, count=False, weight_by_field="rank").hits
            return [(float(s), a) for s, a in hits]
        hits = searcher.search(compiled, k, count=False, order_by_field="upvotes").hits
        return [(_popularity(int(u)), a) for u, a in hits]


# -- query compilation ---------------------------------------------------------------------
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
            parts = [Q.boost_query(self.term(f, node), BOOSTS[f]) for f in _TERM_FIELDS[node.field]]
            return parts[0] if len(parts) == 1 else self.should(parts)
        if isinstance(node, IdTerm):
            return Q.term_query(s, "pid", node.paper_id)
        if isinstance(node, Or):
            return self.should([self.node(op) for op in node.operands])
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

    def term(self, field: str, term: Term) -> tantivy.Query:
        Q, s, toks = tantivy.Query, self.schema, list(term.tokens)
        if not term.prefix:
            if len(toks) == 1:
                return Q.term_query(s, field, toks[0])
            return Q.phrase_query(s, field, toks)
        if len(toks) == 1:
            # Every indexed word with that prefix, as a term set: exact (no expansion cap)
            # and ~5x cheaper than compiling the Unicode DFA of a regex_query "tr.*".
            words = [w for w, _ in self.searcher.terms_with_prefix(field, toks[0])]
            return Q.term_set_query(s, field, words) if words else Q.empty_query()
        # Tokens are letters and digits only (normalize_tokens), so literal in a regex.
        if not self.expand:
            return Q.regex_phrase_query(s, field, [*toks[:-1], toks[-1] + ".*"])
        # Fallback for a prefix with very many completions: only the last words that
        # occur in documents holding the phrase's leading words, one phrase each.
        lead = toks[:-1]
        within = (
            Q.term_query(s, field, lead[0]) if len(lead) == 1 else Q.phrase_query(s, field, lead)
        )
        words = self.searcher.terms_with_prefix(field, toks[-1], filter_query=within)
        phrases = [Q.phrase_query(s, field, [*lead, w]) for w, n in words if n > 0]
        return self.should(phrases) if phrases else Q.empty_query()


def compile_query(
    schema: tantivy.Schema, searcher: tantivy.Searcher, query: Query, *, expand: bool = False
) -> tantivy.Query:
    return _Compiler(schema, searcher, expand).node(query.root)

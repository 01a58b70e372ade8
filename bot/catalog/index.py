"""Full-text search over papers with tantivy.

Layout
------
One tantivy document per paper (``index_documents``), queries compiled node by node
(``index_query``). ``title`` and ``abstract`` are single text values;
``keywords``, ``authors`` and ``org`` (display name + hub slug) hold one value per item,
and tantivy leaves a position gap between values, so a phrase never spans two authors.
Every text value is indexed already normalised, exactly as ``bot.catalog.query.normalize_tokens``
splits it, through a plain whitespace tokenizer: index and ``bot.catalog.query_match.matches`` agree
token for token. ``pid`` (raw, stored) is the paper id; ``upvotes``, ``first_day`` and
``last_day`` (day ordinals) are fast integer fields for the filters; ``rank`` is a fast
float field derived from upvotes (below). Beside them: stemmed copies of the prose fields
(``*_s``), their acronym concepts (``*_c``, ``bot.catalog.concepts``) and the stemmed AI
summary (``summary_s``, read by the relaxed search only). User text never reaches
tantivy's query parser: queries are built node by node with ``tantivy.Query`` (term,
phrase, term set of the indexed words with a prefix, phrase prefix or regex phrase
``literal ... prefix.*`` for prefix phrases, boolean Must/MustNot/Should, fast-field
ranges, boosts).

Ranking (higher is better)::

    score = bm25(title x10, keywords x5, abstract x1, authors x1, org x1)
            * (1 + 0.25 * ln(1 + upvotes))

the same blend as the FTS5 benchmark engine, but exact over every match: tantivy's
``weight_by_field`` multiplies each match's bm25 by ``log2(2 + rank)`` while it collects
the top hits, and ``rank = 2 ** (1 + 0.25 * ln(1 + upvotes)) - 2`` makes that factor
``1 + 0.25 * ln(1 + upvotes)``. So no rank window: a low-upvote paper is never cut from a
broad query. Prefix terms score a constant (x field boost), as tantivy's regex queries do.
Queries without words (only filters) are ordered by the ``upvotes`` fast field and score
``1 + 0.25 * ln(1 + upvotes)``.

On disk ``path`` is a directory holding the tantivy files and ``paperpost-schema``
(``SCHEMA_VERSION``); ``open`` rebuilds it when missing, unreadable or of another version.
Only one process writes it (the library holds an OS lock for that); ``open_reader``
opens it without ever writing, and every search first picks up the latest commit of
whichever process wrote it (one ``stat`` of ``meta.json``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from paperpost.bot.catalog.index_documents import (
    WORDS,
    analyzer,
    build_schema,
    paper_document,
    popularity,
)
from paperpost.bot.catalog.index_query import compile_query, compile_relaxed
from paperpost.bot.catalog.query import Query, parse_query
from paperpost.bot.catalog.query_ast import Node, Term
from paperpost.bot.papers.model import Paper

__all__ = ["SCHEMA_VERSION", "SearchHit", "TantivyIndex", "compile_query"]

log = logging.getLogger(__name__)

# 2: stemmed title_s/keywords_s/abstract_s fields; 3: acronym concepts *_c, summary_s
SCHEMA_VERSION = "tantivy-3-concepts"
VERSION_FILE = "paperpost-schema"
META_FILE = "meta.json"  # tantivy rewrites it on every commit
WRITER_HEAP = 50_000_000  # bytes: tantivy flushes a segment when this arena is full
# Files tantivy (and we) put in the directory: only these are removed on a rebuild.
_OWN_SUFFIXES = {".idx", ".pos", ".term", ".store", ".fast", ".fieldnorm", ".del", ".lock"}
_OWN_NAMES = {META_FILE, ".managed.json", VERSION_FILE}


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper_id: str
    score: float


def _remove_index_files(directory: Path) -> None:
    for f in directory.iterdir():
        if f.is_file() and (f.name in _OWN_NAMES or f.suffix in _OWN_SUFFIXES):
            f.unlink()


def _version_ok(directory: Path) -> bool:
    version = directory / VERSION_FILE
    return version.is_file() and version.read_text("utf-8").strip() == SCHEMA_VERSION


class TantivyIndex:
    """A thread-safe tantivy index of papers. See the module docstring for the design."""

    def __init__(self, path: str | Path = ":memory:", *, writable: bool = True) -> None:
        self.path = str(path)
        self.writable = writable
        self._lock = threading.RLock()  # one writer at a time; swaps of the searcher
        self._schema = build_schema()
        self.created = False
        self._seen_commit: tuple[int, int, int] | None = None
        if self.path == ":memory:":
            self._index = tantivy.Index(self._schema)
            self.created = True
        else:
            directory = Path(path)
            if not writable:
                if not _version_ok(directory):
                    raise ValueError(f"no complete search index in {directory}")
            else:
                directory.mkdir(parents=True, exist_ok=True)
                if not _version_ok(directory):
                    _remove_index_files(directory)
                    self.created = True
            self._index = tantivy.Index(self._schema, path=self.path, reuse=not self.created)
            if self.created:
                self._set_version(SCHEMA_VERSION)
        self._index.register_tokenizer(WORDS, analyzer())
        self._seen_commit = self._commit_signature()
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
        """Open the index directory ``path`` for writing; rebuild it from ``load_papers()``
        when it is missing, empty, unreadable or of another schema version (it is a cache)."""
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

    @classmethod
    def open_reader(cls, path: str | Path) -> TantivyIndex | None:
        """The on-disk index, opened without ever writing to it; None when there is no
        complete one (another process is building it, or none was ever built)."""
        try:
            return cls(path, writable=False)
        except (ValueError, OSError):
            return None

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

    # -- freshness -----------------------------------------------------------------
    def _commit_signature(self) -> tuple[int, int, int] | None:
        if self.path == ":memory:":
            return None
        try:
            st = (Path(self.path) / META_FILE).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _reload(self) -> None:
        self._seen_commit = self._commit_signature()
        self._index.reload()
        self._searcher = self._index.searcher()

    def _current(self) -> tantivy.Searcher:
        """The searcher of the latest commit, whichever process made it."""
        searcher = self._searcher
        if searcher is None:
            raise RuntimeError("the search index is closed")
        if self._commit_signature() != self._seen_commit:
            with self._lock:
                if self._searcher is None:
                    raise RuntimeError("the search index is closed")
                try:
                    self._reload()
                except ValueError:  # files of a commit still being replaced: next time
                    log.debug("search index reload deferred", exc_info=True)
                searcher = self._searcher
        return searcher

    # -- writing -------------------------------------------------------------------
    def upsert(self, papers: Iterable[Paper]) -> None:
        """Insert papers, or replace them: each paper's documents are deleted by id and
        the paper added again, all in one commit, so an id is never in the index twice.

        The writer lives only for the call: its arena (``WRITER_HEAP``) is freed
        afterwards and tantivy's directory lock is not held between updates.
        """
        self._write(papers, ())

    def delete(self, paper_ids: Iterable[str]) -> None:
        """Remove every document of these ids, in one commit."""
        self._write((), paper_ids)

    def _write(self, papers: Iterable[Paper], deletions: Iterable[str]) -> None:
        if not self.writable:
            raise RuntimeError("this process does not hold the search index's write lock")
        with self._lock:
            before = self._current()
            may_exist = before.num_docs > 0  # an empty index (a rebuild) needs no deletes
            seen: set[str] = set()
            writer: tantivy.IndexWriter | None = None
            try:
                for pid in deletions:
                    writer = writer if writer is not None else self._writer()
                    writer.delete_documents_by_term("pid", pid)
                # Streamed, never held in memory. A delete applies to the documents added
                # before it, so a paper twice in one call is one document.
                for paper in papers:
                    writer = writer if writer is not None else self._writer()
                    if may_exist or paper.id in seen:
                        writer.delete_documents_by_term("pid", paper.id)
                    seen.add(paper.id)
                    writer.add_document(paper_document(self._schema, paper))
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
            self._reload()

    def _writer(self) -> tantivy.IndexWriter:
        return self._index.writer(heap_size=WRITER_HEAP, num_threads=1)

    # -- reading -------------------------------------------------------------------
    def count(self) -> int:
        return self._current().num_docs

    def searcher(self) -> tantivy.Searcher:
        """The latest commit's searcher (a consistent snapshot)."""
        return self._current()

    @property
    def schema(self) -> tantivy.Schema:
        return self._schema

    def doc_counts(self) -> dict[str, int]:
        """Every paper id in the index with its number of live documents (1 when sound)."""
        searcher = self._current()
        if searcher.num_docs == 0:
            return {}
        live = tantivy.Query.all_query()  # counts only documents not deleted
        return dict(searcher.terms_with_prefix("pid", "", filter_query=live))

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

    def count_matches(self, query: Query) -> int:
        """How many papers match (no document is read)."""
        searcher = self._current()
        if searcher.num_docs == 0:
            return 0
        for expand in (False, True):
            try:
                compiled = compile_query(self._schema, searcher, query, expand=expand)
                result = searcher.search(compiled, 1, count=True)
                return int(getattr(result, "count", 0) or 0)  # not in tantivy's type stub
            except ValueError as e:
                if expand or "max expansions" not in str(e):
                    raise
        raise AssertionError("unreachable")

    def search_relaxed(
        self, words: Sequence[Term], others: Sequence[Node], need: int, *, limit: int
    ) -> list[SearchHit]:
        """Papers holding at least ``need`` of ``words`` (or having them in their AI
        summary) and matching every one of ``others``: the most words first, then bm25."""
        searcher = self._current()
        if searcher.num_docs == 0 or limit <= 0:
            return []
        compiled = compile_relaxed(self._schema, searcher, words, others, need)
        hits = searcher.search(compiled, limit, count=False).hits
        return [SearchHit(searcher.doc(a)["pid"][0], float(s)) for s, a in hits]

    @staticmethod
    def _top(
        searcher: tantivy.Searcher, compiled: tantivy.Query, query: Query, k: int
    ) -> list[tuple[float, tantivy.DocAddress]]:
        if query.has_text:
            hits = searcher.search(compiled, k, count=False, weight_by_field="rank").hits
            return [(float(s), a) for s, a in hits]
        hits = searcher.search(compiled, k, count=False, order_by_field="upvotes").hits
        return [(popularity(int(u)), a) for u, a in hits]

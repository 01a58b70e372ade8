"""Full-text search over papers: SQLite FTS5 (stdlib ``sqlite3``), ranked by relevance and upvotes.

Layout
------
``search_fts`` (FTS5, unicode61 remove_diacritics 2, prefix indexes 2 and 3) holds one
row per paper with the columns ``title, keywords, abstract, authors, org, pid, days``;
the text columns are already normalised by ``document_columns`` (below) so that the
index and the pure-Python ``bot.catalog.query_match.matches`` agree token for token. ``days`` holds
synthetic tokens: ``zall`` (every row), ``y2026`` and ``m202608`` for each featured day,
so ``since:``/``before:`` become a short OR of month/year tokens inside the MATCH
(exact day boundaries are then checked on ``search_docs``). User text never reaches
FTS5 as syntax: every token is passed as a quoted FTS5 string.

``search_fts`` is contentless (``content=''``: half the file, 1.6x faster bulk loads);
``search_docs`` (rowid, pid, upvotes, first_day, last_day, digest, body) is the side
table for the non-text filters and the paper id; ``body`` is the zlib-compressed indexed
text, needed to delete a row from a contentless FTS5 table.

Static-quality rowids
---------------------
A row's rowid is ``((2**20 - min(upvotes, 2**20 - 1)) << 32) | (2**32 - 1 - seq)``, so
ascending rowid = descending upvotes (then most recently inserted first). An upvote
change deletes the row and re-inserts it under a new rowid. ``upvotes:`` filters become
rowid ranges that FTS5 applies while it walks its doclists.

Search strategy
---------------
1. ``SELECT rowid ... MATCH ? ORDER BY rowid LIMIT M+1`` (``M = RANK_WINDOW``): FTS5
   streams matches in rowid order without scoring anything, and stops early.
2. If there are at most ``M`` matches, all of them are scored with ``bm25``; otherwise
   (a broad query) only the ``M`` best by upvotes are scored, via ``rowid <= r_M``.
   A paper with few upvotes can therefore be missed by a very broad query; adding a
   word narrows the match set and brings it back in.

Relevance blended with upvotes (higher is better)::

    score = -bm25(title=10, keywords=5, abstract=1, authors=1, org=1) * (1 + 0.25 * ln(1 + upvotes))

bm25 is FTS5's (negative, lower = better), so ``-bm25`` is a positive relevance. The
multiplier grows slowly (x1 at 0 upvotes, x2 at 54, x2.4 at 250): among equally relevant
papers the more upvoted wins, but a title match (weight 10) still beats an abstract-only
match unless the upvote gap is enormous. Queries without words (only filters) rank by
upvotes alone (``score = 1 + 0.25 * ln(1 + upvotes)``).
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from paperpost.bot.catalog.index import SearchHit
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
from paperpost.bot.catalog.query_match import ITEM_SEPARATOR
from paperpost.bot.papers.model import Paper

__all__ = ["RANK_WINDOW", "SCHEMA_VERSION", "SearchIndex"]


def _index_text(text: str) -> str:
    """Text as handed to the FTS5 index.

    Pure-ASCII text goes in unchanged: SQLite's unicode61 tokenizer splits and folds
    it exactly like ``normalize_tokens`` (letters and digits, lower-cased), and skipping
    Python keeps bulk indexing fast. Other text is replaced by its normalised tokens,
    so the index sees exactly the tokens a query produces.
    """
    return text if text.isascii() else " ".join(normalize_tokens(text))


def _join_items(items: tuple[str, ...] | list[str]) -> str:
    return f" {ITEM_SEPARATOR} ".join(t for t in map(_index_text, items) if t.strip())


def document_columns(paper: Paper) -> tuple[str, str, str, str, str]:
    """The text columns the FTS5 index stores: title, keywords, abstract, authors, org.

    Multi-valued fields (keywords, authors, organization name + slug) are joined with
    ``ITEM_SEPARATOR`` (a token for FTS5, never a query token), so a phrase never
    matches across two authors or two keywords.
    """
    org_items = [x for x in (paper.organization, paper.organization_slug) if x]
    return (
        _index_text(paper.title),
        _join_items(paper.ai_keywords),
        _index_text(paper.abstract),
        _join_items(paper.authors),
        _join_items(org_items),
    )


SCHEMA_VERSION = "1"
RANK_WINDOW = 300  # M: how many matches (best by upvotes) bm25 scores for a broad query
UPVOTE_WEIGHT = 0.25
WEIGHTS = (10.0, 5.0, 1.0, 1.0, 1.0, 1.0, 0.0)  # title keywords abstract authors org pid days

_BATCH = 5_000  # papers per transaction (and per FTS5 segment) in a bulk load
_UPV_SPAN = 1 << 20
_UPV_CAP = _UPV_SPAN - 1
_SEQ_MASK = (1 << 32) - 1
_ROWID_MIN = 0
_ROWID_MAX = (1 << 62) - 1
_NO_DAY_FIRST = date.max.toordinal()  # a paper without featured days never matches since:/before:
_NO_DAY_LAST = 0
_ALL = '{days} : "zall"'
_COLUMNS = {
    None: "{title keywords abstract authors org}",
    "title": "{title}",
    "author": "{authors}",
    "org": "{org}",
}
_BM25 = "bm25(search_fts, " + ", ".join(str(w) for w in WEIGHTS) + ")"


def _upvote_key(upvotes: int) -> int:
    return _UPV_SPAN - min(max(upvotes, 0), _UPV_CAP)


def _rowid_upvotes(rowid: int) -> int:
    return _UPV_SPAN - (rowid >> 32)


def _rowid_range(lo_up: int, hi_up: int | None) -> tuple[int, int]:
    """Rowids of papers with ``lo_up <= upvotes <= hi_up`` (None = unbounded)."""
    top = _upvote_key(hi_up) if hi_up is not None else 1
    bottom = _upvote_key(lo_up)
    return top << 32, (bottom << 32) | _SEQ_MASK


def _popularity(upvotes: int) -> float:
    return 1.0 + UPVOTE_WEIGHT * math.log1p(max(upvotes, 0))


def _fts_string(tokens: Sequence[str]) -> str:
    return '"' + " ".join(t.replace('"', '""') for t in tokens) + '"'


def _day_tokens(days: Sequence[date]) -> str:
    toks = ["zall"]
    for d in sorted(set(days)):
        for tok in (f"y{d.year}", f"m{d.year}{d.month:02d}"):
            if tok not in toks:
                toks.append(tok)
    return " ".join(toks)


@dataclass(slots=True)
class _Plan:
    match: str
    conds: list[str]
    params: list[object]
    lo: int
    hi: int
    ranked: bool  # some positive word/phrase/id: score with bm25
    empty: bool = False


class SearchIndex:
    """A thread-safe FTS5 index of papers. See the module docstring for the design."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self.created = self._ensure_schema()
            row = self._conn.execute(
                "SELECT min(first_day), max(last_day) FROM search_docs WHERE last_day > 0"
            ).fetchone()
            # The seq counter is stored inverted in the low 32 bits of the rowid.
            low = self._conn.execute(
                "SELECT min(rowid & ?) FROM search_docs", (_SEQ_MASK,)
            ).fetchone()[0]
        except BaseException:
            self._conn.close()
            raise
        self._seq = _SEQ_MASK - low if low is not None else 0
        self._min_year = date.fromordinal(row[0]).year if row[0] else None
        self._max_year = date.fromordinal(row[1]).year if row[1] else None

    # -- lifecycle ---------------------------------------------------------------
    def _ensure_schema(self) -> bool:
        conn = self._conn
        if self.path != ":memory:" and not self.path.startswith("file::memory:"):
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-8000")  # 8 MB page cache
        conn.execute("CREATE TABLE IF NOT EXISTS search_meta(key TEXT PRIMARY KEY, value TEXT)")
        row = conn.execute("SELECT value FROM search_meta WHERE key = 'schema_version'").fetchone()
        if row and row[0] == SCHEMA_VERSION:
            return False
        conn.execute("BEGIN")
        try:
            conn.execute("DROP TABLE IF EXISTS search_fts")
            conn.execute("DROP TABLE IF EXISTS search_docs")
            conn.execute(
                "CREATE TABLE search_docs("
                " rowid INTEGER PRIMARY KEY, pid TEXT NOT NULL UNIQUE,"
                " upvotes INTEGER NOT NULL, first_day INTEGER NOT NULL,"
                " last_day INTEGER NOT NULL, digest BLOB NOT NULL, body BLOB NOT NULL)"
            )
            conn.execute(
                "CREATE VIRTUAL TABLE search_fts USING fts5("
                "title, keywords, abstract, authors, org, pid, days,"
                " tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3', content = '')"
            )
            # A bigger in-memory buffer: fewer, larger segments on bulk loads.
            self._fts_config("hashsize", 16 << 20)
            conn.execute(
                "INSERT OR REPLACE INTO search_meta VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True

    def _fts_config(self, key: str, value: int) -> None:
        self._conn.execute("INSERT INTO search_fts(search_fts, rank) VALUES (?, ?)", (key, value))

    @classmethod
    def open(cls, path: str | Path, load_papers: Callable[[], Iterable[Paper]]) -> SearchIndex:
        """Open the index at ``path``; rebuild it from ``load_papers()`` when the file is
        missing, empty, unreadable or of another schema version (the index is a cache)."""
        try:
            index = cls(path)
            index.count()
        except sqlite3.DatabaseError:
            _remove_db_files(Path(path))
            index = cls(path)
        if index.created or index.count() == 0:
            index.upsert(load_papers())
        return index

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------
    def upsert(self, papers: Iterable[Paper]) -> None:
        """Insert papers, or replace them (same id: one row, with the new upvotes/days/text).

        Unchanged papers are skipped. More than 5,000 papers in one call is a bulk load:
        no fsync and no incremental segment merging while loading, then one FTS5
        ``optimize`` (a single segment, the fastest to query).
        """
        with self._lock:
            written = 0
            bulk = False
            batch: dict[str, Paper] = {}
            try:
                for paper in papers:
                    batch[paper.id] = paper
                    if len(batch) >= _BATCH:
                        if not bulk:
                            # A bulk load: the index is derived data (``open`` rebuilds an
                            # unreadable file), so skip fsyncs until the load is done.
                            bulk = True
                            self._conn.execute("PRAGMA synchronous=OFF")
                            self._fts_config("automerge", 0)
                            self._fts_config("crisismerge", 64)
                        written += self._upsert_batch(list(batch.values()))
                        batch.clear()
                if batch:
                    written += self._upsert_batch(list(batch.values()))
                if bulk and written:
                    self._conn.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
            finally:
                if bulk:
                    self._fts_config("automerge", 4)
                    self._fts_config("crisismerge", 16)
                    self._conn.execute("PRAGMA synchronous=NORMAL")

    def _upsert_batch(self, papers: list[Paper]) -> int:
        conn = self._conn
        rows = []
        for p in papers:
            cols = document_columns(p)
            pid_col = " ".join(normalize_tokens(p.id))
            days_col = _day_tokens(p.featured_days)
            if p.featured_days:
                first, last = min(p.featured_days).toordinal(), max(p.featured_days).toordinal()
            else:
                first, last = _NO_DAY_FIRST, _NO_DAY_LAST
            body = "\x1f".join((*cols, pid_col, days_col)).encode()
            digest = hashlib.blake2b(body + str(p.upvotes).encode(), digest_size=8).digest()
            rows.append((p, cols, pid_col, days_col, first, last, digest, body))
        existing: dict[str, tuple[int, bytes, bytes]] = {}
        ids = [p.id for p in papers]
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for pid, rowid, digest, body in conn.execute(
                f"SELECT pid, rowid, digest, body FROM search_docs WHERE pid IN ({marks})", chunk
            ):
                existing[pid] = (rowid, digest, body)
        deletes: list[tuple[int]] = []
        fts_deletes: list[tuple[object, ...]] = []
        docs_rows = []
        fts_rows = []
        for p, cols, pid_col, days_col, first, last, digest, body in rows:
            old = existing.get(p.id)
            if old is not None:
                if old[1] == digest:
                    continue
                deletes.append((old[0],))
                # Contentless FTS5: a delete must repeat the exact indexed values.
                fts_deletes.append((old[0], *zlib.decompress(old[2]).decode().split("\x1f")))
            self._seq += 1
            rowid = (_upvote_key(p.upvotes) << 32) | (_SEQ_MASK - self._seq)
            docs_rows.append((rowid, p.id, p.upvotes, first, last, digest, zlib.compress(body, 1)))
            fts_rows.append((rowid, *cols, pid_col, days_col))
            if p.featured_days:
                lo, hi = min(p.featured_days).year, max(p.featured_days).year
                self._min_year = lo if self._min_year is None else min(self._min_year, lo)
                self._max_year = hi if self._max_year is None else max(self._max_year, hi)
        if not docs_rows:
            return 0
        # FTS5 flushes its in-memory buffer whenever a rowid is not larger than the last
        # one written: insert in rowid order so a batch becomes one segment.
        docs_rows.sort()
        fts_rows.sort()
        conn.execute("BEGIN")
        try:
            conn.executemany(
                "INSERT INTO search_fts(search_fts, rowid, title, keywords, abstract, authors,"
                " org, pid, days) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?, ?)",
                fts_deletes,
            )
            conn.executemany("DELETE FROM search_docs WHERE rowid = ?", deletes)
            conn.executemany("INSERT INTO search_docs VALUES (?, ?, ?, ?, ?, ?, ?)", docs_rows)
            conn.executemany(
                "INSERT INTO search_fts(rowid, title, keywords, abstract, authors, org, pid, days)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                fts_rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(docs_rows)

    # -- reading -------------------------------------------------------------------
    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM search_docs").fetchone()[0]

    def search(self, query: Query | str, *, limit: int | None = 10) -> list[SearchHit]:
        """Papers matching ``query``, best first. ``limit=None``: every match, all ranked."""
        if isinstance(query, str):
            query = parse_query(query)
        if limit is not None and limit <= 0:
            return []
        plan = self._plan(query)
        if plan.empty:
            return []
        with self._lock:
            return self._run(plan, limit)

    def _base(self, plan: _Plan, select: str) -> tuple[str, list[object]]:
        join = " CROSS JOIN search_docs AS d ON d.rowid = search_fts.rowid" if plan.conds else ""
        where = "".join(f" AND {c}" for c in plan.conds)
        sql = (
            f"SELECT {select} FROM search_fts{join}"
            f" WHERE search_fts MATCH ? AND search_fts.rowid BETWEEN ? AND ?{where}"
        )
        return sql, [plan.match, plan.lo, plan.hi, *plan.params]

    def _run(self, plan: _Plan, limit: int | None) -> list[SearchHit]:
        conn = self._conn
        if not plan.ranked:
            sql, params = self._base(plan, "search_fts.rowid")
            sql += " ORDER BY search_fts.rowid"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            rowids = [r[0] for r in conn.execute(sql, params)]
            scored = [(_popularity(_rowid_upvotes(r)), r) for r in rowids]
            return self._hits(scored)
        if limit is None:
            sql, params = self._base(plan, f"search_fts.rowid, {_BM25}")
            rows = conn.execute(sql, params).fetchall()
        else:
            window = max(RANK_WINDOW, limit)
            sql, params = self._base(plan, "search_fts.rowid")
            sql += f" ORDER BY search_fts.rowid LIMIT {window + 1}"
            rowids = [r[0] for r in conn.execute(sql, params)]
            if not rowids:
                return []
            bound = rowids[min(window, len(rowids)) - 1]
            ranked = _Plan(plan.match, plan.conds, plan.params, plan.lo, bound, True)
            sql, params = self._base(ranked, f"search_fts.rowid, {_BM25}")
            rows = conn.execute(sql, params).fetchall()
        scored = [(-bm25 * _popularity(_rowid_upvotes(r)), r) for r, bm25 in rows]
        scored.sort(key=lambda x: (-x[0], x[1]))
        if limit is not None:
            scored = scored[:limit]
        return self._hits(scored)

    def _hits(self, scored: list[tuple[float, int]]) -> list[SearchHit]:
        pids: dict[int, str] = {}
        for i in range(0, len(scored), 500):
            chunk = [r for _, r in scored[i : i + 500]]
            marks = ",".join("?" * len(chunk))
            pids.update(
                self._conn.execute(
                    f"SELECT rowid, pid FROM search_docs WHERE rowid IN ({marks})", chunk
                ).fetchall()
            )
        return [SearchHit(pids[r], s) for s, r in scored if r in pids]

    # -- query compilation ----------------------------------------------------------------
    def _plan(self, query: Query) -> _Plan:
        root = query.root
        items = root.operands if isinstance(root, And) else (root,)
        positive: list[str] = []
        negative: list[str] = []
        conds: list[str] = []
        params: list[object] = []
        lo_up, hi_up = 0, None  # upvotes interval (inclusive; None = unbounded)
        empty = False
        for item in items:
            negated = isinstance(item, Not)
            inner = item.operand if isinstance(item, Not) else item
            if isinstance(inner, Upvotes):
                a, b = _upvote_interval(inner)
                if negated:
                    if a == 0 and b is not None:
                        a, b = b + 1, None
                    elif b is None and a > 0:
                        a, b = 0, a - 1
                    elif b is None:  # excluded everything
                        empty = True
                        continue
                    else:
                        conds.append("d.upvotes NOT BETWEEN ? AND ?")
                        params += [a, b]
                        continue
                if (b is not None and b >= _UPV_CAP) or a >= _UPV_CAP:  # beyond the rowid range
                    conds.append("d.upvotes BETWEEN ? AND ?")
                    params += [a, b if b is not None else 2**62]
                lo_up = max(lo_up, a)
                hi_up = b if hi_up is None else (hi_up if b is None else min(hi_up, b))
            elif isinstance(inner, (Since, Before)):
                if negated:
                    # -since:D  (every day < D) implies before:D, and
                    # -before:D (every day >= D) implies since:D: those month/year tokens
                    # narrow the match in FTS5, the exact test runs on search_docs.
                    if isinstance(inner, Since):
                        conds.append("d.last_day < ?")
                        implied: Since | Before = Before(inner.day)
                    else:
                        conds.append("d.first_day >= ?")
                        implied = Since(inner.day)
                    params.append(inner.day.toordinal())
                    tokens = self._date_tokens(implied)
                    if not tokens:
                        empty = True
                        continue
                    positive.append(_days_expr(tokens))
                    continue
                tokens = self._date_tokens(inner)
                if not tokens:
                    empty = True
                    continue
                positive.append(_days_expr(tokens))
                if inner.day.day != 1:
                    conds.append(
                        "d.last_day >= ?" if isinstance(inner, Since) else "d.first_day < ?"
                    )
                    params.append(inner.day.toordinal())
            elif negated:
                negative.append(_fts(inner))
            else:
                positive.append(_fts(inner))
        if hi_up is not None and hi_up < lo_up:
            empty = True
        lo, hi = _rowid_range(lo_up, hi_up) if not empty else (0, 0)
        match = " AND ".join(positive) if positive else _ALL
        if negative:
            match = f"({match}) NOT ({' OR '.join(negative)})"
        return _Plan(match, conds, params, lo, hi, query.has_text, empty)

    def _date_tokens(self, node: Since | Before) -> list[str]:
        if self._min_year is None or self._max_year is None:
            return []
        d = node.day
        if isinstance(node, Since):
            if d.year > self._max_year:
                return []
            months = [f"m{d.year}{m:02d}" for m in range(d.month, 13)]
            years = [f"y{y}" for y in range(d.year + 1, self._max_year + 1)]
            return months + years
        if d.year < self._min_year:
            return []
        years = [f"y{y}" for y in range(self._min_year, min(d.year, self._max_year + 1))]
        last_month = d.month if d.day != 1 else d.month - 1
        months = [f"m{d.year}{m:02d}" for m in range(1, last_month + 1)]
        return years + months


def _days_expr(tokens: list[str]) -> str:
    return "{days} : (" + " OR ".join(_fts_string([t]) for t in tokens) + ")"


def _upvote_interval(node: Upvotes) -> tuple[int, int | None]:
    v = node.value
    return {
        ">=": (v, None),
        ">": (v + 1, None),
        "<=": (0, v),
        "<": (0, v - 1),
        "=": (v, v),
    }[node.op]


def _fts(node: Node) -> str:
    """An FTS5 expression for a text node; every token goes in as a quoted string."""
    if isinstance(node, Term):
        return f"{_COLUMNS[node.field]} : {_fts_string(node.tokens)}" + (
            " *" if node.prefix else ""
        )
    if isinstance(node, IdTerm):
        return "{pid} : " + _fts_string(normalize_tokens(node.paper_id))
    if isinstance(node, Or):
        return "(" + " OR ".join(_fts(op) for op in node.operands) + ")"
    if isinstance(node, And):
        pos = [_fts(op) for op in node.operands if not isinstance(op, Not)]
        neg = [_fts(op.operand) for op in node.operands if isinstance(op, Not)]
        expr = "(" + " AND ".join(pos) + ")"
        if neg:
            expr = f"({expr} NOT ({' OR '.join(neg)}))"
        return expr
    raise TypeError(f"not a text node: {node!r}")  # the parser keeps filters at the top level


def _remove_db_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()

"""The paper library: stored papers, their featured days, and the search index.

It is the one place that writes papers. A day is written papers-first,
day-entry-last (a kill in between leaves the day absent, to be fetched again,
never half there).

The store is the truth and the index is derived from it. Several processes may
share the folder, but only the holder of the index's write lock (``index_lock``)
writes the index; every process marks the days it stores as "to index"
(``unindexed``), and the holder indexes them at open, after its own ``add_day``
and whenever ``index_pending`` is called (the service does every minute). Readers
pick up the holder's commits at their next search. ``check_index`` compares store
and index and repairs them; the holder runs it at open unless the index is known
to be consistent.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from paperpost.bot import metrics
from paperpost.bot.catalog.index import TantivyIndex
from paperpost.bot.catalog.index_lock import LOCK_FILENAME, WriterLock
from paperpost.bot.catalog.query import Query, parse_query
from paperpost.bot.catalog.relevance import Relevance
from paperpost.bot.catalog.store import Store
from paperpost.bot.catalog.unindexed import marks_for
from paperpost.bot.papers.model import Paper

log = logging.getLogger(__name__)

# The index writer notes (``IndexMarks.set_index_consistent``) once the index matched
# the store (rebuild or check); cleared when an index update fails. Absent in stores
# from before it existed: checked once.
_HANDOVER_ROUNDS = 5
# Libraries still open: at interpreter exit each hands the pending days over (a CLI
# process may end without closing its library).
_OPEN: weakref.WeakSet[PaperLibrary] = weakref.WeakSet()


@atexit.register
def _hand_over_at_exit() -> None:
    for library in list(_OPEN):
        try:
            library.hand_over()
        except Exception:  # the store may be gone already; the next writer indexes them
            log.debug("index hand-over at exit failed", exc_info=True)


@dataclass(frozen=True, slots=True)
class IndexReport:
    """Store against index. ``repaired``: this process fixed what it found (only the
    index writer can); ``pending_days``: days stored and still waiting to be indexed."""

    stored: int
    indexed: int
    missing: int
    extra: int
    duplicated: int
    pending_days: int
    writer: bool
    repaired: bool

    @property
    def ok(self) -> bool:
        return self.missing == self.extra == self.duplicated == 0

    def __str__(self) -> str:
        state = "consistent" if self.ok else ("repaired" if self.repaired else "INCONSISTENT")
        return (
            f"search index {state}: {self.stored} papers stored, {self.indexed} indexed; "
            f"{self.missing} missing, {self.extra} extra, {self.duplicated} duplicated; "
            f"{self.pending_days} day(s) waiting to be indexed"
            + ("" if self.writer else " (another process writes the index)")
        )


class PaperLibrary:
    def __init__(self, store: Store) -> None:
        self._closed = False
        self._store = store
        self._papers = store.table("papers")
        self._days = store.table("days")
        self._unindexed = marks_for(store)
        self._writer_lock = WriterLock(store.data_dir / LOCK_FILENAME)
        self._guard = threading.RLock()  # index_pending / check_index, one at a time
        if self._writer_lock.try_acquire():
            self.index = self._open_for_writing()
            self.index_pending()
        else:
            reader = TantivyIndex.open_reader(store.index_path)
            if reader is None:  # the writer is (re)building it: search a private copy
                log.info("search index not ready in another process; using a private copy")
                reader = TantivyIndex.open(":memory:", self.iter_papers)
            self.index = reader
        # did-you-mean, relaxed search, similar papers (the index may be swapped later)
        self.relevance = Relevance(lambda: self.index, self.get)
        _OPEN.add(self)

    # -- the index writer's role --------------------------------------------------
    @property
    def is_index_writer(self) -> bool:
        return self._writer_lock.held

    def _open_for_writing(self) -> TantivyIndex:
        position = self._unindexed.position()  # before a rebuild reads the store
        index = TantivyIndex.open(self._store.index_path, self.iter_papers)
        if index.created:  # just rebuilt from the store
            self._unindexed.skip_to(position)
            self._set_consistent(True)
        elif not self._unindexed.index_consistent():
            self.index = index
            log.warning("search index not known to match the store; checking it")
            log.warning("%s", self.check_index())
        return index

    def _take_writer_role(self) -> bool:
        if not self._writer_lock.try_acquire():
            return False
        if not (self.index.writable and self.index.path != ":memory:"):
            # The previous writer is gone: this process writes the index from now on. The
            # old reader is left to searches still using it (closing it would fail them).
            self.index = self._open_for_writing()
        return True

    def index_pending(self) -> int:
        """Index the days stored but not yet indexed, by any process; returns the number
        of papers indexed. Only the index writer does it (taking the role when the lock
        is free); cheap when nothing is pending. The service calls it every minute."""
        with self._guard:
            if not self._take_writer_role():
                return 0
            pending = self._unindexed.pending()
            if not pending:
                return 0
            ids = dict.fromkeys(pid for entry in pending for pid in entry.paper_ids)
            papers = [p for p in map(self.get, ids) if p is not None]
            try:
                self.index.upsert(papers)
            except Exception:
                # The marks stay: the next call retries; the store is untouched.
                log.exception("search index update failed; will retry")
                self._set_consistent(False)
                return 0
            for entry in pending:
                self._unindexed.done(entry)
            return len(papers)

    def check_index(self, *, repair: bool = True) -> IndexReport:
        """Compare the paper ids in the store and in the index; the index writer re-adds
        missing papers, deletes extra documents and collapses duplicates."""
        with self._guard:
            writer = repair and self._take_writer_role()
            if writer:
                self.index_pending()
            pending = self._unindexed.pending()  # waiting for the writer: not a fault
            stored = self._stored_ids()
            counts = self.index.doc_counts()
            missing = stored - counts.keys() - {pid for e in pending for pid in e.paper_ids}
            extra = counts.keys() - stored
            duplicated = {pid for pid, n in counts.items() if n > 1 and pid in stored}
            repaired = False
            if writer and (missing or extra or duplicated):
                self.index.delete(sorted(extra))
                self.index.upsert(p for p in map(self.get, sorted(missing | duplicated)) if p)
                repaired = True
            if writer:
                self._set_consistent(True)
            return IndexReport(
                stored=len(stored),
                indexed=sum(counts.values()),
                missing=len(missing),
                extra=len(extra),
                duplicated=len(duplicated),
                pending_days=len(pending),
                writer=writer,
                repaired=repaired,
            )

    def _stored_ids(self) -> set[str]:
        # One query for the keys alone (iterating the table costs a round trip per row).
        with self._store.db.connection() as conn:
            return {key for (key,) in conn.execute('SELECT key FROM "papers"')}

    def _set_consistent(self, consistent: bool) -> None:
        self._unindexed.set_index_consistent(consistent)

    # -- writing -------------------------------------------------------------
    def add_day(self, day: date, papers: Sequence[Paper]) -> None:
        """Store one featured day's papers, merged with what is known of them, and
        index them (now if this process writes the index, else by the writer)."""
        merged = []
        for paper in papers:
            known = self.get(paper.id)
            merged.append(known.merged_with(paper) if known else paper)
        ids = [p.id for p in merged]
        mark = self._unindexed.new_key(day)
        self._unindexed.mark(mark, ids)  # first: a crash below leaves the day to index
        try:
            for paper in merged:
                self._papers[paper.id] = paper.to_json()
            self._store.commit("papers")
            ranked = sorted(merged, key=lambda p: (-p.upvotes, p.id))
            self._days[day.isoformat()] = [p.id for p in ranked]
            self._store.commit("days")
        except BaseException:
            self._store.rollback("papers", "days")
            raise
        self._unindexed.mark(mark, ids)  # again: a writer that read it mid-write redoes it
        self.index_pending()

    def add_papers(self, papers: Sequence[Paper]) -> None:
        """Store papers met outside a featured day (a pasted link) and index them like
        ``add_day`` does; no day changes, and a paper already stored is kept as it is
        (a day's record is richer than a lookup's)."""
        merged = [p for p in papers if self.get(p.id) is None]
        if not merged:
            return
        ids = [p.id for p in merged]
        mark = self._unindexed.new_lookup_key()
        self._unindexed.mark(mark, ids)
        try:
            for paper in merged:
                self._papers[paper.id] = paper.to_json()
            self._store.commit("papers")
        except BaseException:
            self._store.rollback("papers")
            raise
        self._unindexed.mark(mark, ids)
        self.index_pending()

    # -- reading -------------------------------------------------------------
    def get(self, paper_id: str) -> Paper | None:
        raw = self._papers.get(paper_id)
        return Paper.from_json(raw) if raw else None

    def iter_papers(self) -> Iterator[Paper]:
        for raw in self._papers.values():
            yield Paper.from_json(raw)

    def days(self) -> list[date]:
        return sorted(date.fromisoformat(key) for key in self._days)

    def has_day(self, day: date) -> bool:
        return day.isoformat() in self._days

    def latest_day(self) -> date | None:
        days = self.days()
        return days[-1] if days else None

    def papers_on(self, day: date) -> list[Paper]:
        """A featured day's papers, most upvoted first."""
        ids = self._days.get(day.isoformat(), [])
        papers = [p for p in (self.get(i) for i in ids) if p is not None]
        return sorted(papers, key=lambda p: (-p.upvotes, p.id))

    def paper_count(self) -> int:
        return len(self._papers)

    def search(self, query: Query | str, *, limit: int = 10) -> list[Paper]:
        parsed = parse_query(query) if isinstance(query, str) else query
        with metrics.SEARCH_SECONDS.time():
            hits = self.index.search(parsed, limit=limit)
        return [p for p in (self.get(h.paper_id) for h in hits) if p is not None]

    def top(self, days: Iterable[date], *, limit: int = 10) -> list[Paper]:
        """The most upvoted papers featured on any of ``days``."""
        seen: dict[str, Paper] = {}
        for day in days:
            for paper in self.papers_on(day):
                seen[paper.id] = paper
        return sorted(seen.values(), key=lambda p: (-p.upvotes, p.id))[:limit]

    def hand_over(self) -> None:
        """Stop writing the index, leaving nothing pending behind unseen.

        Index what is pending, release the lock, then look again: a day marked by a
        process that could not get the lock meanwhile is indexed here after all (taking
        the lock back), or else by whoever holds the lock now, who does the same when
        it stops. So the last writer to stop always sees every mark made before.
        """
        with self._guard:
            for _ in range(_HANDOVER_ROUNDS):
                if self._writer_lock.held:
                    self.index_pending()
                self._writer_lock.release()
                if not self._unindexed.count() or not self._take_writer_role():
                    return

    def close(self) -> None:
        with self._guard:
            if self._closed:
                return
            self._closed = True
            _OPEN.discard(self)
            try:
                self.hand_over()
            except Exception:  # closing must go on; the next writer indexes them
                log.exception("could not index the pending days at close")
            self._writer_lock.release()
            self.index.close()

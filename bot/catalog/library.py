"""The paper library: stored papers, their featured days, and the search index.

It is the one place that writes papers, so the store and the index never
disagree for long: a day is written papers-first, day-entry-last (a kill in
between leaves the day absent, to be fetched again, never half there), and an
index update interrupted by a crash is detected at the next start and the
index rebuilt from the store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from paperpost.bot import metrics
from paperpost.bot.catalog.index import TantivyIndex as SearchIndex
from paperpost.bot.catalog.query import Query, parse_query
from paperpost.bot.catalog.store import Store
from paperpost.bot.papers.model import Paper

log = logging.getLogger(__name__)

_INDEX_CLEAN = "index_clean"


class PaperLibrary:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._papers = store.table("papers")
        self._days = store.table("days")
        self._meta = store.table("meta")
        if not self._meta.get(_INDEX_CLEAN, True) and store.index_path.exists():
            log.warning("search index was interrupted mid-update; rebuilding it from the store")
            SearchIndex.remove(store.index_path)
        self.index = SearchIndex.open(store.index_path, self.iter_papers)

    # -- writing -------------------------------------------------------------
    def add_day(self, day: date, papers: Sequence[Paper]) -> None:
        """Store one featured day's papers, merged with what is known of them."""
        merged = []
        for paper in papers:
            known = self.get(paper.id)
            merged.append(known.merged_with(paper) if known else paper)
        self._set_index_clean(False)
        for paper in merged:
            self._papers[paper.id] = paper.to_json()
        self._store.commit("papers")
        ranked = sorted(merged, key=lambda p: (-p.upvotes, p.id))
        self._days[day.isoformat()] = [p.id for p in ranked]
        self._store.commit("days")
        try:
            self.index.upsert(merged)
        except Exception:
            # The store has the day; the derived index is rebuilt at next start.
            log.exception("search index update failed", extra={"day": day.isoformat()})
            return
        self._set_index_clean(True)

    def _set_index_clean(self, clean: bool) -> None:
        self._meta[_INDEX_CLEAN] = clean
        self._store.commit("meta")

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

    def latest_day(self, *, before: date | None = None) -> date | None:
        days = [d for d in self.days() if before is None or d < before]
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

    def close(self) -> None:
        self.index.close()

"""Papers named by pasted links: from the store, else fetched upstream once and stored.

A paper not in the store is looked up upstream (``UpstreamPapers``) at most once
per id per hour, however often it is pasted and however many Paperpost processes
share the store: each lookup is first recorded in the ``paper_lookups``
table of the store's database, in one transaction that succeeds only when no
lookup of that id was recorded within the hour. Misses are remembered the same
way. Within a process, pastes of an id being looked up wait for that lookup.

A paper found is stored through the library (and so indexed) like a synced one,
without a featured day unless Hugging Face says it was featured. Nothing here
raises into a channel: failures are logged and the link simply gets no card.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from paperpost.bot.catalog.database import Connection, Database
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.sqlite_tables import as_database
from paperpost.bot.errors import StoreError
from paperpost.bot.papers.links import paper_id_in
from paperpost.bot.papers.model import Paper
from paperpost.bot.papers.paper_api import UpstreamPapers

log = logging.getLogger(__name__)

TABLE = "paper_lookups"
INTERVAL = 3600.0  # seconds: one upstream lookup per paper id per hour at most
BUSY_TIMEOUT = 30.0


class LookupThrottle:
    """Who may look a paper id up now, across processes (real time: it is shared)."""

    def __init__(
        self,
        store: Database | Path,
        *,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = as_database(store, timeout=BUSY_TIMEOUT)
        self._interval = interval
        self._clock = clock
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {TABLE} "
                    "(paper_id TEXT PRIMARY KEY, looked_up_at REAL NOT NULL)"
                )
        except StoreError as exc:  # a read-only store: no lookups (none could be stored)
            log.debug("%s table not created: %s", TABLE, exc)

    def _transaction(self, paper_id: str) -> contextlib.AbstractContextManager[Connection]:
        return self._db.transaction(lock=f"lookup:{paper_id}")

    def claim(self, paper_id: str) -> bool:
        """Record a lookup of ``paper_id`` now; ``False`` when one was recorded within
        the interval (by any process), or when the store cannot record it."""
        now = self._clock()
        try:
            with self._transaction(paper_id) as conn:
                conn.execute(
                    f"DELETE FROM {TABLE} WHERE looked_up_at <= ?", (now - self._interval,)
                )
                row = conn.execute(
                    f"SELECT looked_up_at FROM {TABLE} WHERE paper_id = ?", (paper_id,)
                ).fetchone()
                if row is not None and now - row[0] < self._interval:
                    return False
                conn.execute(
                    f"INSERT INTO {TABLE} (paper_id, looked_up_at) VALUES (?, ?) "
                    "ON CONFLICT (paper_id) DO UPDATE SET looked_up_at = excluded.looked_up_at",
                    (paper_id, now),
                )
                return True
        except StoreError as exc:
            log.warning("paper lookup %s not recorded, so not made: %s", paper_id, exc)
            return False


class PaperLookup:
    """``papers_linked(urls)``: the paper each link names, where one can be had.

    ``upstream`` is ``None`` when Paperpost runs offline: stored papers only.
    """

    def __init__(
        self,
        library: PaperLibrary,
        throttle: LookupThrottle,
        upstream: UpstreamPapers | None,
    ) -> None:
        self._library = library
        self._throttle = throttle
        self._upstream = upstream
        self._in_flight: dict[str, asyncio.Future[Paper | None]] = {}

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()

    async def papers_linked(self, urls: Sequence[str]) -> dict[str, Paper]:
        """``{url: paper}`` for each of ``urls`` naming a paper that is stored or found
        upstream; the others are left out. Each paper is looked up once."""
        ids = {url: paper_id for url in urls if (paper_id := paper_id_in(url))}
        found: dict[str, Paper | None] = {}
        for paper_id in dict.fromkeys(ids.values()):
            found[paper_id] = await self.paper(paper_id)
        return {url: paper for url, pid in ids.items() if (paper := found[pid]) is not None}

    async def paper(self, paper_id: str) -> Paper | None:
        """The stored paper, else the one fetched upstream (when allowed now)."""
        try:
            stored = await asyncio.to_thread(self._library.get, paper_id)
        except Exception:
            log.exception("paper lookup %s: the store could not be read", paper_id)
            return None
        if stored is not None or self._upstream is None:
            return stored
        if paper_id in self._in_flight:  # pasted again while it is being looked up
            return await asyncio.shield(self._in_flight[paper_id])
        future: asyncio.Future[Paper | None] = asyncio.get_running_loop().create_future()
        self._in_flight[paper_id] = future
        paper: Paper | None = None
        try:
            paper = await self._look_up(paper_id)
        except Exception:
            log.exception("paper lookup %s failed", paper_id)
        finally:
            del self._in_flight[paper_id]
            future.set_result(paper)  # on cancellation too: waiters get no card, never hang
        return paper

    async def _look_up(self, paper_id: str) -> Paper | None:
        assert self._upstream is not None
        if not await asyncio.to_thread(self._throttle.claim, paper_id):
            log.debug("paper lookup %s: looked up within the hour; not again", paper_id)
            # Another process may have stored it since its lookup.
            return await asyncio.to_thread(self._library.get, paper_id)
        paper = await self._upstream.fetch(paper_id)
        if paper is None:
            log.info("paper lookup %s: unknown upstream; remembered for an hour", paper_id)
            return None
        try:
            await asyncio.to_thread(self._library.add_papers, [paper])
        except Exception:  # a full or read-only disk: the card is shown all the same
            log.exception("paper lookup %s: found but not stored", paper_id)
        return paper

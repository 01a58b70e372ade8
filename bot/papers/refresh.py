"""Fresh upvotes before posting: each featured day is refreshed from the source
at most once per UTC day, shared by every channel that posts it (never once
per channel), so upstream requests do not grow with the channel count."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Protocol

from paperpost.bot import metrics
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.errors import SourceError
from paperpost.bot.papers.model import Paper

log = logging.getLogger(__name__)


class PaperSource(Protocol):
    async def fetch_day(self, day: date) -> list[Paper]: ...


class DayRefresher:
    def __init__(
        self, source: PaperSource, library: PaperLibrary, clock: Callable[[], datetime]
    ) -> None:
        self._source = source
        self._library = library
        self._clock = clock
        self._refreshed: dict[date, date] = {}  # featured day -> UTC day it was refreshed
        self.answered_empty: set[date] = set()  # days the source answered with no papers
        self._locks: dict[date, asyncio.Lock] = {}
        self.last_error: str | None = None

    @property
    def library(self) -> PaperLibrary:
        return self._library

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    def fresh(self, day: date) -> bool:
        """Whether ``day`` was fetched from the source during this UTC day."""
        return self._refreshed.get(day) == self._clock().date()

    async def ensure(self, day: date, *, refresh: bool = True) -> bool:
        """Make ``day`` available in the library, refreshed today if possible.

        Returns False when the day is neither stored nor fetchable (source
        down): the caller must not post an empty digest.
        """
        if not refresh and self._library.has_day(day):
            return True
        lock = self._locks.setdefault(day, asyncio.Lock())
        async with lock:
            today = self._clock().date()
            if self._refreshed.get(day) == today:
                return self._library.has_day(day)
            try:
                papers = await self._source.fetch_day(day)
            except SourceError as exc:
                metrics.UPSTREAM_ERRORS.inc()
                self.last_error = str(exc)
                stored = self._library.has_day(day)
                log.error(
                    "could not refresh featured day%s",
                    " (posting stored upvotes)" if stored else "; its digests wait for the source",
                    extra={"day": day.isoformat(), "error": str(exc)},
                )
                return stored
            if not papers:
                # Published late, perhaps: not marked refreshed, so the next sweep asks again.
                self.answered_empty.add(day)
                log.warning("the source has no papers for this day yet", extra={"day": str(day)})
                return self._library.has_day(day)
            self.answered_empty.discard(day)
            await asyncio.to_thread(self._library.add_day, day, papers)
            self._refreshed[day] = today
            return self._library.has_day(day)

"""Bring a range of days from a paper source into the store.

Days are fetched one after another (Hugging Face allows 500 requests per five
minutes without a token). A day that cannot be fetched is reported and skipped;
the others still go in. Each day is handed to the sink whole, so a failed day
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from paperpost.bot.errors import SourceError
from paperpost.bot.papers.model import Paper

log = logging.getLogger(__name__)


class DaySource(Protocol):
    """Where papers come from (``HuggingFaceSource``, a snapshot, a fake)."""

    async def fetch_day(self, day: date) -> list[Paper]: ...


class DaySink(Protocol):
    """Where papers go: the store and search index, one atomic write per day."""

    def add_day(self, day: date, papers: Sequence[Paper]) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync did.

    ``days``: every day the sync went through, in order (failed and empty ones too).
    ``papers``: papers handed to the sink, over all days.
    ``failed``: ``(day, message)`` for each day that could not be fetched; nothing
    of those days was stored.
    """

    days: tuple[date, ...]
    papers: int
    failed: tuple[tuple[date, str], ...]

    @property
    def synced(self) -> tuple[date, ...]:
        """The days that were fetched (and stored, when they had papers)."""
        failed = {day for day, _ in self.failed}
        return tuple(day for day in self.days if day not in failed)

    @property
    def ok(self) -> bool:
        return not self.failed


def days_in_range(since: date, until: date) -> list[date]:
    """Every day from ``since`` to ``until``, both included."""
    if since > until:
        raise ValueError(f"the range starts after it ends: {since} > {until}")
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


async def sync_days(
    source: DaySource,
    sink: DaySink,
    days: Sequence[date],
    *,
    on_day: Callable[[date, int], None] | None = None,
) -> SyncReport:
    """Fetch each day from ``source`` and store it in ``sink``.

    ``on_day(day, n)`` is called once per day, after it is done, with the number
    of papers stored (0 for an empty or a failed day), e.g. to move a progress
    bar. A ``SourceError`` fails that day only. An error raised by the sink is
    not a property of the day (the store itself is broken) and stops the sync.
    """
    done: list[date] = []
    failed: list[tuple[date, str]] = []
    total = 0
    for day in days:
        try:
            papers = await source.fetch_day(day)
        except SourceError as exc:
            message = str(exc) or type(exc).__name__
            log.warning("sync: %s failed: %s", day, message)
            failed.append((day, message))
            stored = 0
        else:
            if papers:
                await asyncio.to_thread(sink.add_day, day, papers)
            stored = len(papers)
            total += stored
            log.info("sync: %s: %d papers", day, stored)
        done.append(day)
        if on_day is not None:
            on_day(day, stored)
    return SyncReport(days=tuple(done), papers=total, failed=tuple(failed))


__all__ = ["DaySink", "DaySource", "SyncReport", "days_in_range", "sync_days"]

"""The store stays current by itself while the service runs.

At start, in the background, the featured days of the last ``backfill_days`` that the
store lacks are fetched (commands are answered meanwhile; one log line per few days).
Then, every minute: the newest featured day is fetched once it is complete (D+1 00:00
UTC), a day Hugging Face still answers empty is asked again every few minutes until it
is final, and the upvotes of recent days are refreshed once per UTC day through the
shared ``DayRefresher`` (so a digest posted afterwards needs no request of its own).
Requests depend on days, never on the number of channels.

With several processes on one data folder, only the holder of an OS file lock
(``keeper.lock``) does this; with replicas on one PostgreSQL database, only the
holder of a session advisory lock (so the upstream requests do not grow with
replicas). Every process still indexes days others stored (``index_pending``)
every minute. When Hugging Face cannot be reached at first start
(an empty store), the bundled snapshot fills the store, and the health says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from enum import Enum

from paperpost.bot.catalog.database import SingletonLock
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.store import Store
from paperpost.bot.delivery.featured_day import digest_day_for, is_final, recent_featured_days
from paperpost.bot.papers.origin import PapersOrigin
from paperpost.bot.papers.refresh import DayRefresher

log = logging.getLogger(__name__)

LOCK_NAME = "keeper"  # keeper.lock beside the SQLite store; an advisory lock on PostgreSQL
TICK_SECONDS = 60.0  # how often the keeper looks (and indexes days other processes stored)
RETRY_AFTER = timedelta(minutes=10)  # a day that failed or came back empty, asked again
REFRESH_DAYS = 3  # recent featured days whose upvotes are refreshed once per UTC day
PROGRESS_EVERY = 5  # backfilled days per progress log line
STOP_SECONDS = 2.0  # at stop, how long a fetch in flight may finish (then cancelled)


class Fetched(Enum):
    STORED = "stored"  # fetched now or earlier this UTC day
    EMPTY = "empty"  # the source has no papers for it (yet)
    FAILED = "failed"  # the source could not be reached
    LATER = "later"  # missed a moment ago: not asked again before RETRY_AFTER


class PaperKeeper:
    def __init__(
        self,
        *,
        library: PaperLibrary,
        refresher: DayRefresher,
        origin: PapersOrigin,
        lock: SingletonLock,
        clock: Callable[[], datetime],
        backfill_days: int,
    ) -> None:
        self._library = library
        self._refresher = refresher
        self._origin = origin
        self._lock = lock
        self._clock = clock
        self._backfill_days = backfill_days
        self._stopping = asyncio.Event()
        self._backfilled = False
        self._next_try: dict[date, datetime] = {}  # day -> earliest retry after a miss
        self.first_round = asyncio.Event()  # set after the first round, whatever its outcome
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def online(
        cls, refresher: DayRefresher, origin: PapersOrigin, store: Store, backfill_days: int | None
    ) -> PaperKeeper | None:
        """The keeper of an online core (``backfill_days`` set); None offline."""
        if backfill_days is None:
            return None
        library, clock = refresher.library, refresher.clock
        return cls(
            library=library, refresher=refresher, origin=origin, clock=clock,
            lock=store.db.singleton_lock(LOCK_NAME), backfill_days=backfill_days,
        )  # fmt: skip

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="paperpost-keeper")

    async def stop(self) -> None:
        """Stop after the day being stored (a store write is never cut off halfway by
        a cancelled thread); a request still waiting on Hugging Face after STOP_SECONDS
        is cancelled."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, STOP_SECONDS)
        self._lock.release()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("keeping the store current failed; trying again in a minute")
            self.first_round.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), TICK_SECONDS)

    # -- one round ---------------------------------------------------------------
    async def tick(self) -> None:
        """Index what others stored; then, as the one keeper of the folder, backfill,
        fetch the newest complete day and refresh recent upvotes."""
        await asyncio.to_thread(self._library.index_pending)
        if not await asyncio.to_thread(self._lock.try_acquire):
            return  # another process keeps the folder current
        now = self._clock()
        if not self._backfilled:
            self._backfilled = await self._backfill(now)
            return
        for day in recent_featured_days(now.astimezone(UTC).date(), REFRESH_DAYS)[::-1]:
            await self._fetch(day, now)

    def _window(self, now: datetime) -> list[date]:
        """The featured days of the last ``backfill_days``, oldest first."""
        oldest = now.astimezone(UTC).date() - timedelta(days=self._backfill_days)
        days: list[date] = []
        day = digest_day_for(now)
        while day >= oldest and self._backfill_days > 0:
            days.append(day)
            day = recent_featured_days(day, 1)[0]
        return days[::-1]

    async def _backfill(self, now: datetime) -> bool:
        """Fetch the window's missing days, oldest first; False when the source failed
        (the rest is tried again next round). An empty store that cannot reach the
        source at first start is filled from the bundled snapshot."""
        missing = [d for d in self._window(now) if not self._library.has_day(d)]
        if not missing:
            return True
        log.info("backfill: fetching %d featured day(s), %s to %s", len(missing), missing[0],
                 missing[-1])  # fmt: skip
        for done, day in enumerate(missing, 1):
            if self._stopping.is_set():
                return False
            outcome = await self._fetch(day, now)
            if outcome in (Fetched.FAILED, Fetched.LATER):
                if self._library.paper_count() == 0:
                    await self._fall_back_to_snapshot()
                return False
            if done % PROGRESS_EVERY == 0 and done < len(missing):
                log.info("backfill: %d of %d day(s) done, through %s", done, len(missing), day)
        log.info("backfill: done; latest featured day %s", self._library.latest_day())
        return True

    async def _fall_back_to_snapshot(self) -> None:
        if await self._origin.fill_from_snapshot(self._library):
            log.warning(
                "Hugging Face cannot be reached (%s): serving the bundled snapshot's "
                "papers (latest %s) until it can",
                self._refresher.last_error or "no answer", self._library.latest_day(),
            )  # fmt: skip

    async def _fetch(self, day: date, now: datetime) -> Fetched:
        """``day`` stored and refreshed this UTC day: one request per day per UTC day at
        most, a miss asked again after RETRY_AFTER, an empty day until it is final."""
        if self._refresher.fresh(day):
            return Fetched.STORED
        if now < self._next_try.get(day, now):
            return Fetched.LATER
        if day in self._refresher.answered_empty and is_final(day, now):
            return Fetched.EMPTY
        await self._refresher.ensure(day)
        if self._refresher.fresh(day):
            self._next_try.pop(day, None)
            self._origin.note_fetched()
            return Fetched.STORED
        self._next_try[day] = now + RETRY_AFTER
        return Fetched.EMPTY if day in self._refresher.answered_empty else Fetched.FAILED

"""Weekly roundups: scheduled per channel, posted once through the platforms.

``set weekly fri 16:00`` gives a channel one APScheduler job (the digest's
DST-safe CronTrigger, ``schedule.weekly_trigger``, in the channel's zone). When it
fires, or when the sweep finds the latest roundup time missed while Paperpost
was down, the roundup is built (weekly_roundup.py), claimed in the weekly ledger
(one process posts it, once) and handed to the channel's platform. Only the
latest missed week is ever caught up: one post, never a backlog. A paused
channel gets no roundup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from paperpost.bot.catalog.database import Database
from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.delivery.claims import ClaimLost, Claims
from paperpost.bot.delivery.ledger import Ledger
from paperpost.bot.delivery.outbox import Outbox, ShuttingDown
from paperpost.bot.delivery.schedule import latest_fire, weekly_trigger
from paperpost.bot.delivery.weekly_ledger import ClaimResult, RoundupState, WeeklyLedger
from paperpost.bot.delivery.weekly_roundup import Roundup, build_roundup, days_in_week, week_key
from paperpost.bot.errors import DeliveryError
from paperpost.bot.feedback.votes import FeedbackStore
from paperpost.bot.ports import RoundupPlatform

log = logging.getLogger(__name__)


class RoundupOutcome(StrEnum):
    SENT = "sent"
    EMPTY = "nothing to list"
    ALREADY_SENT = "already sent"
    BUSY = "being posted by another process"
    FAILED = "failed"  # transient: the next sweep tries again
    PAUSED = "paused"  # permanent error: the channel was paused
    NO_PLATFORM = "no platform"
    INTERRUPTED = "interrupted by shutdown"


@dataclass(frozen=True, slots=True)
class RoundupDelivery:
    channel: ChannelKey
    week: str
    outcome: RoundupOutcome
    detail: str = ""


def armed_value(settings: ChannelSettings) -> str:
    """What arms a channel's roundups: its setting and zone, or off (paused too)."""
    if settings.weekly is None or settings.paused:
        return "off"
    return f"{settings.weekly} {settings.timezone}"


def latest_roundup_time(settings: ChannelSettings, now: datetime) -> datetime | None:
    """The channel's latest roundup time at or before ``now`` (in its zone), if any."""
    if settings.weekly is None:
        return None
    trigger = weekly_trigger(settings.weekly.day, settings.weekly.at, settings.zone)
    return latest_fire(trigger, now)


class WeeklyRoundups:
    def __init__(
        self,
        *,
        db: Database | Path,
        library: PaperLibrary,
        channels: ChannelRegistry,
        ledger: Ledger,
        claims: Claims,
        feedback: FeedbackStore,
        outbox: Outbox,
        clock: Callable[[], datetime],
        on_permanent: Callable[[ChannelKey, str], None],
    ) -> None:
        self._library = library
        self._channels = channels
        self._ledger = ledger  # the digests' posted papers: what the channel was shown
        self._feedback = feedback
        self._outbox = outbox
        self._clock = clock
        self._on_permanent = on_permanent
        self.ledger = WeeklyLedger(db, claims, wall=time.time)
        self._jobs: dict[ChannelKey, ChannelSettings] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._in_flight: set[tuple[ChannelKey, str]] = set()  # this process's, across tasks
        self._tasks: set[asyncio.Task[RoundupDelivery | None]] = set()

    # -- the schedule ------------------------------------------------------------
    def start(self, channels: Iterable[tuple[ChannelKey, ChannelSettings]]) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        for key, settings in channels:
            self.set_channel(key, settings)
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop firing; wait for the roundups in flight (they end before posting once
        the outbox is stopping)."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    def set_channel(self, key: ChannelKey, settings: ChannelSettings) -> None:
        """Add, replace or (off, paused) remove the channel's roundup job. On the loop."""
        if settings.weekly is None or settings.paused:
            self.remove_channel(key)
            return
        self._jobs[key] = settings
        if self._scheduler is not None:
            weekly = settings.weekly
            self._scheduler.add_job(
                self._fire,
                trigger=weekly_trigger(weekly.day, weekly.at, settings.zone),
                args=(key,),
                id=str(key),
                name=f"weekly roundup {key}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )

    def remove_channel(self, key: ChannelKey) -> None:
        self._jobs.pop(key, None)
        if self._scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(str(key))

    def next_run(self, key: ChannelKey) -> datetime | None:
        if self._scheduler is None or key not in self._jobs:
            return None
        job = self._scheduler.get_job(str(key))
        return job.next_run_time if job is not None else None

    def note_settings(self, key: ChannelKey, settings: ChannelSettings) -> None:
        """A channel's settings changed (any thread): re-arm when its roundup did."""
        self.ledger.armed_since(key, armed_value(settings), self._clock())

    async def _fire(self, key: ChannelKey) -> None:
        task = asyncio.create_task(self.run_due(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- posting -------------------------------------------------------------------
    async def run_due(self, key: ChannelKey) -> RoundupDelivery | None:
        """The scheduler fired: the channel's roundup of its latest roundup time."""
        try:
            settings = await asyncio.to_thread(self._channels.get, key)
            fired = latest_roundup_time(settings, self._clock())
            if settings.paused or fired is None:
                return None
            return await self.deliver(key, settings, fired)
        except Exception:
            log.exception("weekly roundup of %s failed", key)
            return None

    async def catch_up(self) -> list[RoundupDelivery]:
        """Each channel's latest roundup, when its time passed unposted since the
        setting was armed (at start, and on every sweep)."""
        now = self._clock()
        done = []
        for key, settings in await asyncio.to_thread(self._channels.all):
            if settings.weekly is None:
                continue
            since = await asyncio.to_thread(
                self.ledger.armed_since, key, armed_value(settings), now
            )
            fired = latest_roundup_time(settings, now)
            if settings.paused or fired is None or fired.astimezone(UTC) <= since:
                continue
            done.append(await self.deliver(key, settings, fired))
        return done

    async def deliver(
        self, key: ChannelKey, settings: ChannelSettings, fired: datetime
    ) -> RoundupDelivery:
        """Claim the roundup of ``fired`` and post it, unless it is done or held."""
        week = week_key(fired)
        platform = self._outbox.platform_named(key.platform)
        if not isinstance(platform, RoundupPlatform):
            return RoundupDelivery(key, week, RoundupOutcome.NO_PLATFORM)
        if (key, week) in self._in_flight or self._outbox.stopping:
            return RoundupDelivery(key, week, RoundupOutcome.BUSY)
        self._in_flight.add((key, week))
        try:
            claim = await asyncio.to_thread(self.ledger.claim, key, week)
            if claim.result is ClaimResult.DONE:
                return RoundupDelivery(key, week, RoundupOutcome.ALREADY_SENT)
            if claim.result is ClaimResult.BUSY:
                return RoundupDelivery(key, week, RoundupOutcome.BUSY)
            roundup = await asyncio.to_thread(self.build, key, settings, fired)
            outcome, state = await self._post(platform, roundup, claim.resume)
            if state is not None:
                await asyncio.to_thread(self.ledger.finish, key, week, state, self._clock())
            if outcome is RoundupOutcome.PAUSED:
                self._on_permanent(key, "the weekly roundup could not be posted")
            log.info("weekly roundup %s", outcome, extra={"channel": str(key), "week": week})
            return RoundupDelivery(key, week, outcome)
        finally:
            self._in_flight.discard((key, week))

    async def _post(
        self, platform: RoundupPlatform, roundup: Roundup, resume: bool
    ) -> tuple[RoundupOutcome, RoundupState | None]:
        """Post; the outcome and the state to record (None: the claim is not ours)."""
        if roundup.is_empty:
            return RoundupOutcome.EMPTY, RoundupState.EMPTY
        key, week = roundup.channel, roundup.week

        async def still_mine() -> None:
            if self._outbox.stopping:
                raise ShuttingDown("Paperpost is stopping")
            await asyncio.to_thread(self.ledger.renew, key, week)

        try:
            await platform.post_roundup(roundup, resume=resume, before_part=still_mine)
        except ShuttingDown:
            return RoundupOutcome.INTERRUPTED, RoundupState.FAILED
        except ClaimLost:
            return RoundupOutcome.BUSY, None
        except DeliveryError as exc:
            log.warning("weekly roundup of %s not posted: %s", key, exc)
            if exc.permanent:
                return RoundupOutcome.PAUSED, RoundupState.GIVEN_UP
            return RoundupOutcome.FAILED, RoundupState.FAILED
        return RoundupOutcome.SENT, RoundupState.SENT

    def build(self, key: ChannelKey, settings: ChannelSettings, fired: datetime) -> Roundup:
        """The channel's roundup for the week ending at ``fired``."""
        end = fired.astimezone(settings.zone)
        papers = [p for d in days_in_week(self._library.days(), end)
                  for p in self._library.papers_on(d)]  # fmt: skip
        votes = self._feedback.votes(key)
        named = {v.paper_id for v in votes}
        stored = {p.id: p for p in map(self._library.get, named) if p is not None}
        return build_roundup(
            key, end, votes=votes, papers_of_week=papers,
            posted=self._ledger.posted_ids(key), stored=stored, missed=settings.top_n,
        )  # fmt: skip

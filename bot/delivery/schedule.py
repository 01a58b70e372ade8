"""When each channel's digest is due: APScheduler 3.x behind Paperpost's own words.

The channel store is the truth; this schedule is an in-memory copy of it, rebuilt
at start and after every settings change, so nothing here is ever persisted.

Daylight saving time. APScheduler 3.11.3's CronTrigger, checked against its source
and by running it (tests/test_schedule.py pins each case, plain and ours):

* Ordinary days: it works in the channel's zone, so 09:00 stays 09:00 on the wall
  clock and the UTC instant moves by an hour across a change. Kept.
* A post time that does not exist (spring forward, 02:30 Europe/Berlin on
  2026-03-29): it yields 02:30+01:00, the pre-change offset, as zoneinfo reads a
  gap time with fold=0 (PEP 495): the instant 01:30 UTC = 03:30 CEST, one post an
  hour later on the wall clock. Kept (same instant), but written as the real wall
  time 03:30+02:00 so a "next digest at" line never shows a skipped time.
* A post time that happens twice (fall back, 02:30 Europe/Berlin on 2026-10-25): it
  fires at both 02:30 CEST (00:30 UTC) and 02:30 CET (01:30 UTC): a double digest.
  Ours fires once, at the first occurrence, as cron does.
* Midnight after a spring-forward change: it adds wall-clock differences in UTC, so
  from Sunday 2026-03-29 00:00 CET it lands on Monday 01:00 CEST, misses 00:00 and
  skips to Tuesday (a Mondays-only 00:00 channel loses a whole week). Ours doesn't.

So _DigestTrigger keeps CronTrigger's fields and the gap rule but builds each
candidate as "this local date at post_time, fold=0": exactly one post per
scheduled local day.

previous_fire_time and next_fire_time walk the very trigger the scheduler uses,
so what they report is exactly what the scheduler does.

Jobs are computed from "now" when added, so a post missed while the bot was down
is not replayed by a rebuild: callers catch up with previous_fire_time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.settings import WEEKDAYS, ChannelSettings

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=8)  # more than a week, so a once-a-week channel has a previous post
_TICK = timedelta(microseconds=1)


class _DigestTrigger(CronTrigger):  # type: ignore[misc, unused-ignore]  # APScheduler 3: untyped
    """CronTrigger's fields and repr, with fire times worked out one local day at a time.

    CronTrigger's own arithmetic adds wall-clock differences in UTC, which is what
    goes wrong across a change (see the module docstring); a digest needs only
    "these weekdays at this wall time", so each candidate is built directly.
    """

    def __init__(self, days: Iterable[int], at: time, zone: ZoneInfo) -> None:
        self.days = frozenset(days)
        self.at = at
        super().__init__(
            day_of_week=",".join(WEEKDAYS[d] for d in sorted(self.days)),
            hour=at.hour,
            minute=at.minute,
            second=0,
            timezone=zone,
        )

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        # As CronTrigger: the first fire after the previous one even if "now" is
        # later, so the scheduler sees misfired runs and coalesces them.
        if previous_fire_time is not None:
            earliest = previous_fire_time.astimezone(UTC) + _TICK
        else:
            earliest = now.astimezone(UTC)
        # A day early: a gap can move a candidate past local midnight.
        first_day = earliest.astimezone(self.timezone).date() - timedelta(days=1)
        for offset in range(9):
            day = first_day + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            # fold=0: a gap time takes the pre-change offset (the instant CronTrigger
            # picks), a repeated time its first occurrence. Via UTC for a real wall time.
            fire = datetime.combine(day, self.at, self.timezone).astimezone(UTC)
            if fire >= earliest:
                return fire.astimezone(self.timezone)
        return None


def digest_trigger(settings: ChannelSettings) -> CronTrigger:
    """The channel's posting times: its days, at post_time, in its own zone."""
    if not settings.days:
        raise ValueError("a channel with no days has no digest schedule")
    at = time(settings.post_time.hour, settings.post_time.minute)  # whole minutes, naive
    return _DigestTrigger(settings.days, at, settings.zone)


def weekly_trigger(day: int, at: time, zone: ZoneInfo) -> CronTrigger:
    """A weekly roundup's times: one weekday at one wall time, DST handled as a digest's."""
    return _DigestTrigger((day,), at, zone)


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("schedule times need an aware datetime, not a naive one")


def previous_fire_time(settings: ChannelSettings, now: datetime) -> datetime | None:
    """The latest scheduled post at or before ``now``, within the last 8 days.

    Aware, in the channel's zone; None when the channel has no days. Compare results
    by instant (``.astimezone(UTC)``): per PEP 495 a time in a repeated hour is never
    ``==`` a datetime in another zone, even at the same instant.
    """
    _require_aware(now)
    if not settings.days:
        return None
    return latest_fire(digest_trigger(settings), now)


def latest_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """``trigger``'s latest fire time at or before ``now``, within the last 8 days."""
    latest = None
    # Arithmetic in UTC: adding to a local time drops fold (PEP 495).
    fire = trigger.get_next_fire_time(None, now.astimezone(UTC) - LOOKBACK)
    # Compare in UTC: same-zone comparisons ignore fold and so misorder repeated times.
    while fire is not None and fire.astimezone(UTC) <= now.astimezone(UTC):
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return latest


def next_fire_time(settings: ChannelSettings, now: datetime) -> datetime | None:
    """The first scheduled post strictly after ``now`` (so previous <= now < next).

    Aware, in the channel's zone (see previous_fire_time on comparing it); None when
    the channel has no days.
    """
    _require_aware(now)
    if not settings.days:
        return None
    fire: datetime | None = digest_trigger(settings).get_next_fire_time(
        None, now.astimezone(UTC) + _TICK
    )
    return fire


class DigestScheduler:
    """One job per unpaused channel; a due job awaits ``on_due(key)``.

    Channels may be set before start(); the AsyncIOScheduler is created on start(),
    on the running loop, and loaded with them then.
    """

    def __init__(
        self,
        on_due: Callable[[ChannelKey], Awaitable[None]],
        *,
        misfire_grace_seconds: int = 3600,
    ) -> None:
        self._on_due = on_due
        self._misfire_grace_seconds = misfire_grace_seconds
        self._channels: dict[ChannelKey, ChannelSettings] = {}  # unpaused, with days
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        if self._scheduler is not None:
            raise RuntimeError("the digest scheduler is already running")
        # UTC, so the scheduler's "now" is never in the same tzinfo as a job's run
        # time: same-tzinfo datetimes compare by wall time and ignore fold.
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        for key, settings in self._channels.items():
            self._add_job(key, settings)
        self._scheduler.start()

    async def shutdown(self) -> None:
        """Stop firing. ``on_due`` only hands channels over (the core posts them in
        tasks of its own, which its ``stop()`` ends), so there is nothing to drain."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # AsyncIOScheduler shuts down in a loop callback

    def set_channel(self, key: ChannelKey, settings: ChannelSettings) -> None:
        """Add or replace the channel's job; a paused channel (or one with no days) has none."""
        if settings.paused or not settings.days:
            self.remove_channel(key)
            return
        self._channels[key] = settings
        if self._scheduler is not None:
            self._add_job(key, settings)

    def remove_channel(self, key: ChannelKey) -> None:
        self._channels.pop(key, None)
        if self._scheduler is not None:
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(str(key))

    def rebuild(self, channels: Iterable[tuple[ChannelKey, ChannelSettings]]) -> None:
        """Drop every job and add one per unpaused channel."""
        self._channels.clear()
        if self._scheduler is not None:
            self._scheduler.remove_all_jobs()
        for key, settings in channels:
            self.set_channel(key, settings)

    def next_run(self, key: ChannelKey) -> datetime | None:
        settings = self._channels.get(key)
        if settings is None:
            return None
        if self._scheduler is None:
            return next_fire_time(settings, datetime.now(UTC))
        job = self._scheduler.get_job(str(key))
        return job.next_run_time if job is not None else None

    def job_count(self) -> int:
        if self._scheduler is None:
            return len(self._channels)
        return len(self._scheduler.get_jobs())

    def _add_job(self, key: ChannelKey, settings: ChannelSettings) -> None:
        assert self._scheduler is not None
        self._scheduler.add_job(
            self._run,
            trigger=digest_trigger(settings),
            args=(key,),
            id=str(key),
            name=f"digest {key}",
            replace_existing=True,
            coalesce=True,  # a stalled loop that missed several runs posts once, not per run
            max_instances=1,
            misfire_grace_time=self._misfire_grace_seconds,
        )

    async def _run(self, key: ChannelKey) -> None:
        try:
            await self._on_due(key)
        except Exception:
            log.exception("digest for %s failed", key)

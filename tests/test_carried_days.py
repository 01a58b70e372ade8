"""No featured day skipped in any zone, none posted twice: digests driven through
``post_digests`` and ``catch_up`` (the ``paperpost digest`` and ``run`` paths) under
a fixed clock, over weeks of synthetic featured days."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import MAX_DIGEST_PAPERS, Digest
from paperpost.bot.delivery.ledger import DeliveryState
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.model import Paper
from tests.conftest import FakeClock, RecordingPlatform, no_sleep

SYDNEY = ChannelKey("slack", "T1", "SYD")
TOKYO = ChannelKey("slack", "T1", "TYO")
UTC_CHANNEL = ChannelKey("slack", "T1", "UTC")


class WeekdaySource:
    """Eight papers for every weekday, except the days listed as ``empty``
    (answered with no papers, as Hugging Face does for a day published late)."""

    def __init__(self) -> None:
        self.empty: set[date] = set()

    async def fetch_day(self, day: date) -> list[Paper]:
        if day.weekday() >= 5 or day in self.empty:
            return []
        return [
            Paper(
                id=f"{day:%y%m}.{day.day:02d}{i:03d}",
                title=f"Paper {i} of {day}",
                abstract="A study.",
                authors=("A. Author",),
                featured_days=(day,),
                upvotes=100 - i,
            )
            for i in range(8)
        ]

    async def aclose(self) -> None:
        return None


async def open_core(data: Path, clock: FakeClock, source: WeekdaySource) -> Paperpost:
    core = await Paperpost.open(
        Config(data_dir=data), source=source, clock=clock, outbox_sleep=no_sleep
    )
    return core


def carried(digest: Digest) -> tuple[date, ...]:
    return digest.carried


def entry_days(digest: Digest) -> set[date]:
    return {e.day or digest.day for e in digest.entries}


def weekdays(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if d.weekday() < 5]


async def test_sydney_and_tokyo_mon_fri_get_every_featured_day_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    """09:00 Sydney and 08:00 Tokyo fall before 00:00 UTC: the old rule (the latest
    day complete at the post) gave Monday Friday, Tuesday nothing and lost Thursday."""
    platform = RecordingPlatform(name="slack")
    clock.now = datetime(2026, 9, 6, 12, 0, tzinfo=UTC)
    core = await open_core(tmp_path, clock, WeekdaySource())
    core.register_platform(platform)
    await core.handle(SYDNEY, "set tz Australia/Sydney")
    await core.handle(TOKYO, "set tz Asia/Tokyo")
    await core.handle(TOKYO, "set time 08:00")
    fires = []
    for offset in range(15):  # Mon 7 Sep .. Mon 21 Sep, local days
        local = date(2026, 9, 7) + timedelta(days=offset)
        if local.weekday() < 5:
            fires.append(datetime.combine(local, time(9), ZoneInfo("Australia/Sydney")))
            fires.append(datetime.combine(local, time(8), ZoneInfo("Asia/Tokyo")))
    for fire in sorted(fires):
        clock.now = fire.astimezone(UTC) + timedelta(minutes=1)
        await core.post_digests()
    core.close()

    expected = weekdays(date(2026, 9, 4), date(2026, 9, 18))  # Fri 4 .. Fri 18 (UTC days)
    for channel in (SYDNEY, TOKYO):
        digests = [d for d in platform.posted if d.channel == channel]
        days = Counter(day for d in digests for day in carried(d))
        assert sorted(days) == expected, channel
        assert set(days.values()) == {1}, channel  # none twice
        assert {day for d in digests for day in entry_days(d)} == set(expected)
        assert all(len(d.entries) <= MAX_DIGEST_PAPERS for d in digests)
        mondays = [d for d in digests if len(d.carried) == 2]
        assert [d.carried for d in mondays] == [
            (date(2026, 9, 10), date(2026, 9, 11)),
            (date(2026, 9, 17), date(2026, 9, 18)),
        ]
        assert all("(Thu 10 Sep)" in e.why or "Thu 10 Sep" in e.why
                   for e in mondays[0].entries if e.day == date(2026, 9, 10))  # fmt: skip


async def test_down_a_week_posts_one_catch_up_then_nothing_after_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    platform = RecordingPlatform(name="slack")
    source = WeekdaySource()
    clock.now = datetime(2026, 9, 7, 9, 5, tzinfo=UTC)  # Monday, after its 09:00 post time
    core = await open_core(tmp_path, clock, source)
    core.register_platform(platform)
    await core.handle(UTC_CHANNEL, "set top 5")
    await core.catch_up()
    core.close()
    assert [d.carried for d in platform.posted] == [(date(2026, 9, 4),)]

    clock.now = datetime(2026, 9, 15, 9, 5, tzinfo=UTC)  # back a week later, Tuesday
    for _restart in range(2):
        core = await open_core(tmp_path, clock, source)
        core.register_platform(platform)
        await core.catch_up()
        await core.catch_up()
        core.close()
    assert len(platform.posted) == 2  # one catch-up digest, nothing more after a restart
    catch_up = platform.posted[1]
    # At most the last 7 days: Tue 8 .. Mon 14 (Mon 7 is more than a week old).
    assert catch_up.carried == tuple(weekdays(date(2026, 9, 8), date(2026, 9, 14)))
    assert len(catch_up.entries) == MAX_DIGEST_PAPERS  # 5 days x top 5, capped
    assert entry_days(catch_up) >= {date(2026, 9, 14)}  # the newest days are kept


async def test_paused_channels_pending_digest_is_dropped_at_delivery(
    tmp_path: Path, clock: FakeClock
) -> None:
    platform = RecordingPlatform(name="slack")
    platform.failures = [DeliveryError("busy", permanent=False)] * 5
    clock.now = datetime(2026, 9, 7, 9, 5, tzinfo=UTC)
    core = await open_core(tmp_path, clock, WeekdaySource())
    core.register_platform(platform)
    core.channels.save(UTC_CHANNEL, core.channels.get(UTC_CHANNEL))  # defaults: 09:00 UTC
    (failed,) = await core.post_digests()
    assert failed.outcome is Outcome.FAILED  # pending: the sweep would post it
    assert not (await core.handle(UTC_CHANNEL, "pause")).is_error
    clock.now += timedelta(minutes=10)
    await core.catch_up()
    assert platform.posted == []
    assert core.ledger.get(UTC_CHANNEL, date(2026, 9, 4)).state is DeliveryState.DROPPED
    # Resumed on Wednesday: Mon 7 and Tue 8 completed while paused and are never carried.
    clock.now = datetime(2026, 9, 9, 8, 0, tzinfo=UTC)
    assert not (await core.handle(UTC_CHANNEL, "resume")).is_error
    clock.now = datetime(2026, 9, 10, 9, 5, tzinfo=UTC)
    await core.catch_up()
    core.close()
    assert [d.carried for d in platform.posted] == [(date(2026, 9, 9),)]


async def test_a_day_published_late_is_retried_on_the_sweep(
    tmp_path: Path, clock: FakeClock
) -> None:
    platform = RecordingPlatform(name="slack")
    source = WeekdaySource()
    source.empty.add(date(2026, 9, 7))
    clock.now = datetime(2026, 9, 8, 9, 5, tzinfo=UTC)  # Tuesday: carries Monday
    core = await open_core(tmp_path, clock, source)
    core.register_platform(platform)
    core.channels.save(UTC_CHANNEL, core.channels.get(UTC_CHANNEL))  # defaults: 09:00 UTC
    (waiting,) = await core.catch_up()
    assert waiting.outcome is Outcome.WAITING and platform.posted == []
    source.empty.clear()  # Hugging Face publishes the day, the same UTC day
    clock.now += timedelta(minutes=10)
    await core.catch_up()
    core.close()
    assert [d.carried for d in platform.posted] == [(date(2026, 9, 7),)]
    assert len(platform.posted[0].entries) == 5


async def test_a_day_still_empty_at_d_plus_2_is_final_and_blocks_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    platform = RecordingPlatform(name="slack")
    source = WeekdaySource()
    clock.now = datetime(2026, 9, 8, 9, 5, tzinfo=UTC)  # Tuesday: carries Monday 7
    core = await open_core(tmp_path, clock, source)
    core.register_platform(platform)
    core.channels.save(UTC_CHANNEL, core.channels.get(UTC_CHANNEL))  # defaults: 09:00 UTC
    await core.catch_up()
    source.empty.add(date(2026, 9, 8))  # Tuesday never published
    clock.now = datetime(2026, 9, 9, 9, 5, tzinfo=UTC)
    assert [d.outcome for d in await core.catch_up()] == [Outcome.WAITING]
    clock.now = datetime(2026, 9, 10, 9, 5, tzinfo=UTC)  # Tue 8 is final from Thu 00:00 UTC
    await core.catch_up()
    clock.now = datetime(2026, 9, 11, 9, 5, tzinfo=UTC)
    await core.catch_up()
    core.close()
    assert [d.carried for d in platform.posted] == [
        (date(2026, 9, 7),),
        (date(2026, 9, 8), date(2026, 9, 9)),
        (date(2026, 9, 10),),
    ]
    assert entry_days(platform.posted[1]) == {date(2026, 9, 9)}


async def test_no_new_featured_day_posts_nothing(tmp_path: Path, clock: FakeClock) -> None:
    platform = RecordingPlatform(name="slack")
    clock.now = datetime(2026, 9, 7, 9, 5, tzinfo=UTC)
    core = await open_core(tmp_path, clock, WeekdaySource())
    core.register_platform(platform)
    await core.handle(UTC_CHANNEL, "set days daily")
    await core.post_digests()
    clock.now = datetime(2026, 9, 12, 9, 5, tzinfo=UTC)  # Saturday: carries Friday 11
    await core.post_digests()
    clock.now = datetime(2026, 9, 13, 9, 5, tzinfo=UTC)  # Sunday: nothing new
    (nothing,) = await core.post_digests()
    core.close()
    assert nothing.outcome is Outcome.ALREADY_SENT
    assert [d.carried[-1] for d in platform.posted] == [date(2026, 9, 4), date(2026, 9, 11)]


class BlockingPlatform(RecordingPlatform):
    """Holds the digest of ``held`` until released."""

    def __init__(self, held: ChannelKey) -> None:
        super().__init__(name="slack")
        self.held = held
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def post_digest(self, digest: Digest, *, resume: bool, **_hooks: object) -> None:
        if digest.channel == self.held:
            self.started.set()
            await self.release.wait()
        self.posted.append(digest)


async def test_a_channel_due_while_a_batch_posts_is_not_left_for_the_sweep(
    tmp_path: Path, clock: FakeClock
) -> None:
    slow, due_later = ChannelKey("slack", "T1", "SLOW"), ChannelKey("slack", "T1", "NEXT")
    platform = BlockingPlatform(held=slow)
    clock.now = datetime(2026, 9, 7, 9, 0, 1, tzinfo=UTC)
    core = await open_core(tmp_path, clock, WeekdaySource())
    core.register_platform(platform)
    await core.run_due(slow)
    await asyncio.wait_for(platform.started.wait(), 30)  # the first batch is posting
    await core.run_due(due_later)
    try:
        await asyncio.wait_for(_posted(platform, due_later), 30)
        assert not platform.release.is_set() and platform.posted[0].channel == due_later
    finally:
        platform.release.set()
        await core.stop()
        core.close()
    assert sorted(d.channel.channel for d in platform.posted) == ["NEXT", "SLOW"]


async def _posted(platform: RecordingPlatform, channel: ChannelKey) -> None:
    while not any(d.channel == channel for d in platform.posted):
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def _fast_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("paperpost.bot.app.BATCH_WINDOW", 0.01)

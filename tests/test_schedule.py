"""Digest schedules under a controlled clock: fixed datetimes fed to the trigger and
to previous/next_fire_time, across DST changes; the scheduler itself is only
started to prove a due job really calls ``on_due``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import example, given, settings
from hypothesis import strategies as st

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.delivery.schedule import (
    DigestScheduler,
    digest_trigger,
    next_fire_time,
    previous_fire_time,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
DAILY = tuple(range(7))
MON_FRI = (0, 1, 2, 3, 4)

GENERAL = ChannelKey("slack", "T1", "C1")
RANDOM = ChannelKey("discord", "G1", "C2")
LOCAL = ChannelKey("console", "", "local")


def channel(
    tz: str = "Europe/Berlin", at: time = time(9, 0), days: tuple[int, ...] = DAILY
) -> ChannelSettings:
    return ChannelSettings(post_time=at, timezone=tz, days=days)


def fires(
    trigger: CronTrigger, start: datetime, end: datetime, lag: timedelta = timedelta(0)
) -> list[datetime]:
    """Fire times in [start, end), chained as the scheduler does: after each run it asks
    for the next with the run time as previous and "now" ``lag`` later."""
    result = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        result.append(fire)
        fire = trigger.get_next_fire_time(fire, (fire.astimezone(UTC) + lag))
    return result


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- ordinary post times across the four 2026 changes ---------------------------


@pytest.mark.parametrize("lag", [timedelta(0), timedelta(seconds=3), timedelta(minutes=59)])
@pytest.mark.parametrize(
    ("tz", "change_day", "utc_hour_before", "utc_hour_after"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 8, 7),  # spring forward: CET -> CEST
        ("America/New_York", date(2026, 3, 8), 14, 13),  # EST -> EDT
        ("Europe/Berlin", date(2026, 10, 25), 7, 8),  # fall back: CEST -> CET
        ("America/New_York", date(2026, 11, 1), 13, 14),  # EDT -> EST
    ],
)
def test_nine_oclock_stays_nine_oclock_across_a_change(
    tz: str, change_day: date, utc_hour_before: int, utc_hour_after: int, lag: timedelta
) -> None:
    zone = ZoneInfo(tz)
    first = change_day - timedelta(days=3)
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(change_day + timedelta(days=4), time(0), zone)

    got = fires(digest_trigger(channel(tz)), start, end, lag)

    local_days = [f.astimezone(zone).date() for f in got]
    assert local_days == [first + timedelta(days=n) for n in range(7)]  # none skipped or doubled
    assert all(f.astimezone(zone).time() == time(9, 0) for f in got)
    assert [f.astimezone(UTC).hour for f in got] == [utc_hour_before] * 3 + [utc_hour_after] * 4
    assert all(f.tzinfo is zone for f in got)  # reported in the channel's own zone


# --- post times the change skips or repeats -------------------------------------


def test_a_post_time_in_the_spring_gap_fires_once_an_hour_later_on_the_wall_clock() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29 (02:00 CET -> 03:00 CEST). CronTrigger
    # reads it with the pre-change offset: 02:30+01:00 = 01:30 UTC = 03:30 CEST.
    trigger = digest_trigger(channel(at=time(2, 30)))
    got = fires(trigger, utc(2026, 3, 27), utc(2026, 4, 1))

    assert [f.astimezone(UTC) for f in got] == [
        utc(2026, 3, 27, 1, 30),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 30, 0, 30),
        utc(2026, 3, 31, 0, 30),
    ]
    gap_day = got[2]
    assert (gap_day.hour, gap_day.minute, gap_day.utcoffset()) == (3, 30, timedelta(hours=2))


def test_the_same_in_new_york() -> None:
    trigger = digest_trigger(channel("America/New_York", time(2, 30)))
    got = fires(trigger, utc(2026, 3, 7), utc(2026, 3, 10))
    assert [f.astimezone(UTC) for f in got] == [
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 8, 7, 30),  # 03:30 EDT
        utc(2026, 3, 9, 6, 30),
    ]
    assert got[1].time() == time(3, 30)


def test_plain_crontrigger_fires_twice_in_the_fall_back_overlap() -> None:
    # Pins the APScheduler behaviour that _DigestTrigger corrects: if an upgrade
    # changes it, look again at bot/schedule.py.
    plain = CronTrigger(hour=2, minute=30, timezone=BERLIN)
    got = fires(plain, utc(2026, 10, 24, 12), utc(2026, 10, 26))
    assert [f.astimezone(UTC) for f in got] == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)]


@pytest.mark.parametrize("lag", [timedelta(0), timedelta(seconds=1), timedelta(minutes=30)])
def test_a_post_time_in_the_fall_back_overlap_fires_once_at_its_first_occurrence(
    lag: timedelta,
) -> None:
    # 02:30 happens twice in Berlin on 2026-10-25: 00:30 UTC (CEST), 01:30 UTC (CET).
    trigger = digest_trigger(channel(at=time(2, 30)))
    got = fires(trigger, utc(2026, 10, 23), utc(2026, 10, 28), lag)
    assert [f.astimezone(UTC) for f in got] == [
        utc(2026, 10, 23, 0, 30),
        utc(2026, 10, 24, 0, 30),
        utc(2026, 10, 25, 0, 30),  # the first 02:30 only
        utc(2026, 10, 26, 1, 30),
        utc(2026, 10, 27, 1, 30),
    ]
    assert got[2].fold == 0 and got[2].utcoffset() == timedelta(hours=2)


def test_new_yorks_repeated_hour_fires_once() -> None:
    trigger = digest_trigger(channel("America/New_York", time(1, 30)))
    got = fires(trigger, utc(2026, 10, 31), utc(2026, 11, 3))
    assert [f.astimezone(UTC) for f in got] == [
        utc(2026, 10, 31, 5, 30),
        utc(2026, 11, 1, 5, 30),  # 01:30 EDT, not again at 01:30 EST
        utc(2026, 11, 2, 6, 30),
    ]


def in_utc(moment: datetime | None) -> datetime | None:
    # Compare instants in UTC: by PEP 495 an aware datetime in a repeated hour is
    # never == one in another zone, even for the same instant.
    return None if moment is None else moment.astimezone(UTC)


def test_previous_and_next_inside_the_overlap_agree_with_the_trigger() -> None:
    overlap = channel(at=time(2, 30))
    first = utc(2026, 10, 25, 0, 30)
    for now in (first, utc(2026, 10, 25, 0, 45), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 9)):
        assert in_utc(previous_fire_time(overlap, now)) == first
        assert in_utc(next_fire_time(overlap, now)) == utc(2026, 10, 26, 1, 30)
    # Between the two 02:30s the scheduler (adding a job, no previous run) agrees.
    between = utc(2026, 10, 25, 1, 0).astimezone(BERLIN)
    assert in_utc(digest_trigger(overlap).get_next_fire_time(None, between)) == utc(
        2026, 10, 26, 1, 30
    )


def test_a_local_now_in_the_repeated_hour_is_read_as_its_instant() -> None:
    overlap = channel(at=time(2, 30))
    second_0245 = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN, fold=1)  # 01:45 UTC
    assert in_utc(previous_fire_time(overlap, second_0245)) == utc(2026, 10, 25, 0, 30)
    assert in_utc(next_fire_time(overlap, second_0245)) == utc(2026, 10, 26, 1, 30)
    first_0215 = datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN)  # 00:15 UTC, fold=0
    assert in_utc(next_fire_time(overlap, first_0215)) == utc(2026, 10, 25, 0, 30)


def test_previous_and_next_across_the_gap() -> None:
    gap = channel(at=time(2, 30))
    assert in_utc(previous_fire_time(gap, utc(2026, 3, 29, 1, 29))) == utc(2026, 3, 28, 1, 30)
    assert in_utc(next_fire_time(gap, utc(2026, 3, 29, 1, 29))) == utc(2026, 3, 29, 1, 30)
    assert in_utc(previous_fire_time(gap, utc(2026, 3, 29, 1, 30))) == utc(2026, 3, 29, 1, 30)
    assert in_utc(next_fire_time(gap, utc(2026, 3, 29, 1, 30))) == utc(2026, 3, 30, 0, 30)


def test_plain_crontrigger_skips_the_midnight_after_spring_forward() -> None:
    # APScheduler 3.11.3 adds wall-clock differences in UTC: from Sunday 00:00 CET it
    # reaches Monday 01:00 CEST, past Monday's 00:00, and moves on to Tuesday.
    plain = CronTrigger(hour=0, minute=0, timezone=BERLIN)
    sunday = datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN)
    assert plain.get_next_fire_time(sunday, sunday) == datetime(2026, 3, 31, 0, 0, tzinfo=BERLIN)
    mondays = CronTrigger(day_of_week="mon", hour=0, minute=0, timezone=BERLIN)
    monday = datetime(2026, 3, 23, 0, 0, tzinfo=BERLIN)
    assert mondays.get_next_fire_time(monday, monday) == datetime(2026, 4, 6, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("tz", "days"),
    [
        ("Europe/Berlin", DAILY),
        ("America/New_York", DAILY),
        ("Europe/Berlin", (0,)),
        ("America/New_York", (0,)),
    ],
)
def test_midnight_posts_survive_spring_forward(tz: str, days: tuple[int, ...]) -> None:
    zone = ZoneInfo(tz)
    start, end = datetime(2026, 3, 1, tzinfo=zone), datetime(2026, 4, 15, tzinfo=zone)
    got = fires(digest_trigger(channel(tz, time(0, 0), days)), start, end)
    local = [f.astimezone(zone) for f in got]
    assert all(f.time() == time(0, 0) for f in local)
    assert [f.date() for f in local] == [
        date(2026, 3, 1) + timedelta(days=n)
        for n in range(45)
        if (date(2026, 3, 1) + timedelta(days=n)).weekday() in days
    ]


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("at", [time(0, 0), time(1, 30), time(2, 30), time(9, 0), time(23, 45)])
def test_ours_matches_plain_crontrigger_except_on_its_dst_defects(tz: str, at: time) -> None:
    zone = ZoneInfo(tz)
    plain = CronTrigger(hour=at.hour, minute=at.minute, timezone=zone)
    ours = digest_trigger(channel(tz, at))
    year = (utc(2026, 1, 1), utc(2027, 1, 1))
    theirs = {in_utc(f) for f in fires(plain, *year)}
    mine = {in_utc(f) for f in fires(ours, *year)}
    extra_fires = {f for f in theirs - mine if f is not None and f.astimezone(zone).fold == 1}
    # Plain CronTrigger only ever adds the second run of a repeated time, or misses
    # a post it skipped over; days are otherwise identical.
    assert theirs - mine == extra_fires
    assert len(mine) == 365  # one post per local day, every day of 2026
    assert len({f.astimezone(zone).date() for f in mine if f is not None}) == 365


# --- days ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "weekdays"),
    [(MON_FRI, [0, 1, 2, 3, 4]), ((0, 2, 4), [0, 2, 4]), ((6,), [6]), ((5, 6), [5, 6])],
)
def test_days_filter(days: tuple[int, ...], weekdays: list[int]) -> None:
    start = datetime(2026, 8, 24, tzinfo=BERLIN)  # a Monday
    got = fires(digest_trigger(channel(days=days)), start, start + timedelta(days=14))
    assert [f.weekday() for f in got] == weekdays * 2
    assert all(f.time() == time(9, 0) for f in got)


def test_previous_fire_time_reaches_back_a_week() -> None:
    mondays = channel(days=(0,))
    monday_nine = datetime(2026, 8, 24, 9, 0, tzinfo=BERLIN)
    a_week_ago = monday_nine - timedelta(days=7)
    assert previous_fire_time(mondays, monday_nine - timedelta(minutes=1)) == a_week_ago
    assert previous_fire_time(mondays, monday_nine) == monday_nine  # <= now
    assert next_fire_time(mondays, monday_nine) == monday_nine + timedelta(days=7)  # > now


def test_previous_and_next_are_in_the_channel_zone() -> None:
    now = utc(2026, 8, 25, 14)
    assert previous_fire_time(channel("America/New_York"), now) == datetime(
        2026, 8, 25, 9, 0, tzinfo=NEW_YORK
    )
    assert next_fire_time(channel("America/New_York"), now).tzinfo is NEW_YORK  # type: ignore[union-attr]


def test_no_days_means_no_fire_times() -> None:
    none = channel(days=())
    assert previous_fire_time(none, utc(2026, 8, 25)) is None
    assert next_fire_time(none, utc(2026, 8, 25)) is None
    with pytest.raises(ValueError):
        digest_trigger(none)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        previous_fire_time(channel(), datetime(2026, 8, 25, 9))
    with pytest.raises(ValueError, match="aware"):
        next_fire_time(channel(), datetime(2026, 8, 25, 9))


@settings(max_examples=150, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"]),
    at=st.sampled_from([time(0, 0), time(1, 30), time(2, 30), time(3, 0), time(9, 0)]),
    days=st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
)
# The Sunday before New York springs forward: a post at 03:00, right after the gap.
@example(now=datetime(2026, 3, 2, tzinfo=UTC), tz="America/New_York", at=time(3, 0), days=(6,))
def test_previous_and_next_bracket_now_with_no_post_between(
    now: datetime, tz: str, at: time, days: tuple[int, ...]
) -> None:
    s = channel(tz, at, days)
    before, after = previous_fire_time(s, now), next_fire_time(s, now)
    assert before is not None and after is not None
    assert before <= now < after
    assert in_utc(next_fire_time(s, before)) == in_utc(after)  # nothing scheduled between
    # Step back in UTC: wall-clock arithmetic in the zone could land in a DST gap, after `after`.
    just_before = in_utc(after) - timedelta(microseconds=1)
    assert in_utc(previous_fire_time(s, just_before)) == in_utc(before)
    # What the scheduler computes when a job is added at "now".
    added = digest_trigger(s).get_next_fire_time(None, now.astimezone(s.zone))
    assert in_utc(added) in (now, in_utc(after))
    # One post per scheduled local day.
    assert before.date() != after.date() and after.weekday() in days


# --- the scheduler -----------------------------------------------------------------


async def never(_key: ChannelKey) -> None:
    raise AssertionError("not expected to fire")


def test_paused_channels_and_rebuild_before_start() -> None:
    scheduler = DigestScheduler(never)
    scheduler.set_channel(GENERAL, channel())
    scheduler.set_channel(RANDOM, replace(channel(), paused=True))
    assert scheduler.job_count() == 1
    assert scheduler.next_run(RANDOM) is None
    assert scheduler.next_run(GENERAL) is not None


async def test_jobs_follow_settings() -> None:
    scheduler = DigestScheduler(never)
    scheduler.set_channel(GENERAL, channel())
    scheduler.start()
    try:
        assert scheduler.job_count() == 1
        scheduler.set_channel(RANDOM, replace(channel(), paused=True))
        assert scheduler.job_count() == 1
        assert scheduler.next_run(RANDOM) is None

        # Replacing a job moves it to the new time and zone.
        ny = channel("America/New_York", time(7, 15))
        before = next_fire_time(ny, datetime.now(UTC))
        scheduler.set_channel(GENERAL, ny)
        after = next_fire_time(ny, datetime.now(UTC))
        assert scheduler.job_count() == 1
        assert scheduler.next_run(GENERAL) in (before, after)
        assert scheduler.next_run(GENERAL).tzinfo is NEW_YORK  # type: ignore[union-attr]

        # Pausing removes the job; removing an unknown channel is harmless.
        scheduler.set_channel(GENERAL, replace(ny, paused=True))
        assert scheduler.job_count() == 0
        scheduler.remove_channel(LOCAL)

        scheduler.rebuild([(GENERAL, channel()), (RANDOM, channel()), (LOCAL, channel())])
        assert scheduler.job_count() == 3
        scheduler.remove_channel(RANDOM)
        assert scheduler.job_count() == 2

        scheduler.rebuild([(LOCAL, replace(channel(), paused=True)), (RANDOM, channel(days=(2,)))])
        assert scheduler.job_count() == 1
        assert scheduler.next_run(GENERAL) is None
        assert scheduler.next_run(LOCAL) is None
        assert scheduler.next_run(RANDOM).weekday() == 2  # type: ignore[union-attr]
    finally:
        await scheduler.shutdown()


def make_due(scheduler: DigestScheduler, key: ChannelKey) -> None:
    # The test reaches into APScheduler only to move the job's run time to now.
    assert scheduler._scheduler is not None
    scheduler._scheduler.modify_job(str(key), next_run_time=datetime.now(UTC))


async def test_a_due_job_calls_on_due_and_is_rescheduled() -> None:
    called: list[ChannelKey] = []
    fired = asyncio.Event()

    async def on_due(key: ChannelKey) -> None:
        called.append(key)
        fired.set()

    scheduler = DigestScheduler(on_due)
    scheduler.start()
    try:
        scheduler.set_channel(GENERAL, channel())
        scheduler.set_channel(RANDOM, channel())
        make_due(scheduler, GENERAL)
        await asyncio.wait_for(fired.wait(), timeout=5)
        assert called == [GENERAL]
        # Afterwards the trigger, not the forced time, decides the next run.
        assert scheduler.next_run(GENERAL).time() == time(9, 0)  # type: ignore[union-attr]
        assert scheduler.next_run(GENERAL) > datetime.now(UTC)  # type: ignore[operator]
    finally:
        await scheduler.shutdown()


async def test_a_failing_digest_does_not_stop_the_schedule() -> None:
    calls = 0
    second = asyncio.Event()

    async def on_due(_key: ChannelKey) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("Slack is down")
        second.set()

    scheduler = DigestScheduler(on_due)
    scheduler.set_channel(GENERAL, channel())
    scheduler.start()
    try:
        make_due(scheduler, GENERAL)
        for _ in range(100):  # let the first run happen and fail
            if calls:
                break
            await asyncio.sleep(0.01)
        make_due(scheduler, GENERAL)
        await asyncio.wait_for(second.wait(), timeout=5)
        assert calls == 2
    finally:
        await scheduler.shutdown()

"""Which featured day a digest carries: UTC weekdays, complete at the next UTC midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paperpost.bot.delivery.featured_day import digest_day_for, recent_featured_days

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")

# 2026-08-24 is a Monday.
MON, TUE, FRI, SAT, SUN = (date(2026, 8, d) for d in (24, 25, 21, 22, 23))


@pytest.mark.parametrize(
    ("post_at", "expected"),
    [
        (datetime(2026, 8, 25, 9, 0, tzinfo=BERLIN), MON),  # Tuesday morning: Monday
        (datetime(2026, 8, 24, 9, 0, tzinfo=BERLIN), FRI),  # Monday: the previous Friday
        (datetime(2026, 8, 25, 0, 30, tzinfo=TOKYO), FRI),  # = Mon 15:30 UTC, Monday not done
        (datetime(2026, 8, 22, 9, 0, tzinfo=BERLIN), FRI),  # Saturday: Friday
        (datetime(2026, 8, 23, 23, 0, tzinfo=NEW_YORK), FRI),  # = Mon 03:00 UTC: Friday still
        (datetime(2026, 8, 25, 0, 0, tzinfo=UTC), MON),  # the instant Monday completes
        (datetime(2026, 8, 24, 23, 59, 59, 999999, tzinfo=UTC), FRI),  # a tick before
        (datetime(2026, 8, 25, 2, 0, tzinfo=BERLIN), MON),  # = Tue 00:00 UTC in summer time
        (datetime(2026, 8, 22, 0, 0, tzinfo=UTC), FRI),  # Friday completes Saturday 00:00
        (datetime(2026, 8, 21, 23, 0, tzinfo=UTC), date(2026, 8, 20)),  # Friday: Thursday
    ],
)
def test_digest_day_for(post_at: datetime, expected: date) -> None:
    assert digest_day_for(post_at) == expected


def test_digest_day_for_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        digest_day_for(datetime(2026, 8, 25, 9, 0))


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
    )
)
def test_digest_day_is_a_weekday_strictly_before_the_utc_date(post_at: datetime) -> None:
    day = digest_day_for(post_at)
    utc_day = post_at.astimezone(UTC).date()
    assert day.weekday() < 5
    assert day < utc_day
    # ...and the most recent such day: nothing featured lies between them.
    assert all((day + timedelta(days=n)).weekday() >= 5 for n in range(1, (utc_day - day).days))


def test_recent_featured_days_skips_weekends_newest_first() -> None:
    assert recent_featured_days(TUE, 4) == [MON, FRI, date(2026, 8, 20), date(2026, 8, 19)]
    assert recent_featured_days(SUN, 2) == [FRI, date(2026, 8, 20)]
    assert recent_featured_days(SAT, 1) == [FRI]
    assert recent_featured_days(MON, 0) == []


def test_recent_featured_days_starts_at_the_digest_day() -> None:
    post_at = datetime(2026, 8, 25, 9, 0, tzinfo=BERLIN)
    before = digest_day_for(post_at) + timedelta(days=1)
    assert recent_featured_days(before, 1) == [digest_day_for(post_at)]


def test_recent_featured_days_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError):
        recent_featured_days(TUE, -1)

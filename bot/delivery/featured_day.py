"""Which Hugging Face featured day a digest carries.

Featured days are UTC calendar dates, Monday to Friday only: the Daily Papers
archive has no weekend pages. Day D is complete, and so safe to post, at
(D+1) 00:00 UTC, whatever the channel's own time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

_SATURDAY = 5


def latest_featured_day_on_or_before(day: date) -> date:
    # Saturday steps back one day to Friday, Sunday two.
    return day - timedelta(days=max(0, day.weekday() - (_SATURDAY - 1)))


def digest_day_for(post_at: datetime) -> date:
    """The most recent featured day complete at ``post_at`` (an aware datetime).

    A Tuesday 09:00 Europe/Berlin post carries Monday; a Monday or weekend post
    carries the previous Friday. Tuesday 00:30 Asia/Tokyo is Monday 15:30 UTC,
    when Monday is still in progress, so it carries Friday too.
    """
    if post_at.tzinfo is None or post_at.utcoffset() is None:
        raise ValueError("digest_day_for needs an aware datetime, not a naive one")
    # Every day before the post's UTC date ended at or before post_at; that date has not.
    utc_day = post_at.astimezone(UTC).date()
    return latest_featured_day_on_or_before(utc_day - timedelta(days=1))


def recent_featured_days(before: date, count: int) -> list[date]:
    """The ``count`` featured weekdays strictly before ``before``, newest first."""
    if count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    days: list[date] = []
    day = before
    while len(days) < count:
        day = latest_featured_day_on_or_before(day - timedelta(days=1))
        days.append(day)
    return days


CATCH_UP_DAYS = 7  # after downtime, a digest carries at most the days of the last week
FINAL_AFTER = timedelta(days=2)  # a day still empty at D+2 00:00 UTC never will be filled


def days_to_carry(fired_at: datetime, *, through: date | None, now: datetime) -> list[date]:
    """The featured days the digest due at ``fired_at`` carries, oldest first.

    Every featured day complete at ``fired_at`` and newer than ``through`` (the
    newest day of the channel's previous digest), within the last CATCH_UP_DAYS
    before ``now``; a channel's first digest carries only the latest complete
    day. So a Sydney 09:00 Monday post (Sunday 23:00 UTC) carries Thursday and
    Friday when Tuesday's post had nothing new: no day is skipped in any zone.
    """
    latest = digest_day_for(fired_at)
    if through is None:
        return [latest]
    oldest = now.astimezone(UTC).date() - timedelta(days=CATCH_UP_DAYS)
    days: list[date] = []
    day = latest
    while day > through and day >= oldest:
        days.append(day)
        day = latest_featured_day_on_or_before(day - timedelta(days=1))
    return days[::-1]


def is_final(day: date, now: datetime) -> bool:
    """Whether an empty answer for ``day`` is final (from D+2 00:00 UTC)."""
    return now >= datetime.combine(day, time(0), UTC) + FINAL_AFTER

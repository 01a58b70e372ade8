"""A channel's settings and saved searches, with their defaults and limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from paperpost.bot.channels.plain_text import echo
from paperpost.bot.errors import CommandError

MAX_TOP_N = 20
MAX_SUBSCRIPTIONS = 25
MAX_SUBSCRIPTION_LENGTH = 200
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PRESETS = {"mon-fri": (0, 1, 2, 3, 4), "weekdays": (0, 1, 2, 3, 4), "daily": tuple(range(7))}


@dataclass(frozen=True, slots=True)
class WeeklyTime:
    """When the weekly roundup is posted: one weekday at one wall time (the channel's zone)."""

    day: int  # Monday = 0, as date.weekday()
    at: time

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.day]} {self.at:%H:%M}"


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    post_time: time = time(9, 0)
    timezone: str = "UTC"
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0, as date.weekday()
    top_n: int = 5
    min_upvotes: int = 0
    threads: bool = False
    paused: bool = False
    paused_reason: str | None = None  # set when Paperpost paused it (a permanent error)
    subscriptions: tuple[str, ...] = ()  # canonical saved queries
    weekly: WeeklyTime | None = None  # the weekly roundup's day and time; None: off

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def days_text(self) -> str:
        for name, days in DAY_PRESETS.items():
            if self.days == days:
                return name
        return ",".join(WEEKDAYS[d] for d in self.days)

    def to_json(self) -> dict[str, Any]:
        return {
            "post_time": self.post_time.strftime("%H:%M"),
            "timezone": self.timezone,
            "days": list(self.days),
            "top_n": self.top_n,
            "min_upvotes": self.min_upvotes,
            "threads": self.threads,
            "paused": self.paused,
            "paused_reason": self.paused_reason,
            "subscriptions": list(self.subscriptions),
            "weekly": str(self.weekly) if self.weekly else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChannelSettings:
        return cls(
            post_time=parse_time(data.get("post_time", "09:00")),
            timezone=parse_timezone(data.get("timezone", "UTC")),
            days=tuple(int(d) for d in data.get("days", (0, 1, 2, 3, 4))),
            top_n=int(data.get("top_n", 5)),
            min_upvotes=int(data.get("min_upvotes", 0)),
            threads=bool(data.get("threads", False)),
            paused=bool(data.get("paused", False)),
            paused_reason=data.get("paused_reason"),
            subscriptions=tuple(str(s) for s in data.get("subscriptions", ())),
            weekly=parse_weekly(data.get("weekly") or "off"),
        )


_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?$", re.IGNORECASE)


def parse_time(text: str) -> time:
    """24-hour ``HH:MM`` (``8:30``, ``20:15``), or a 12-hour clock with am/pm
    (``8pm``, ``8:30 am``; hours 1 to 12). Mixing the two (``20:15pm``,
    ``0am``) is refused rather than guessed at."""
    match = _TIME.match(text.strip())
    if match:
        hour, minute = int(match[1]), int(match[2] or 0)
        suffix = (match[3] or "").lower().replace(".", "")
        if suffix and 1 <= hour <= 12:
            hour = hour % 12 + (12 if suffix == "pm" else 0)
        elif suffix:
            hour = 99  # "13pm", "0am", "20:15pm": neither clock
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise CommandError(
        f"{echo(text)} is not a time: use 24-hour HH:MM (set time 20:15) or 1-12 with am/pm "
        "(set time 8:15pm)"
    )


@cache
def _zones_by_lower_name() -> dict[str, str]:
    # available_timezones() walks the zone database on every call: read it once. The
    # host's zone folder also holds files that are not places ("localtime" follows
    # whatever the server is set to): a channel's zone must not depend on the host.
    return {
        zone.lower(): zone
        for zone in available_timezones()
        if zone.lower() not in _NOT_PLACES and not zone.startswith(("posix/", "right/"))
    }


_NOT_PLACES = {"localtime", "posixrules", "factory"}


@cache
def parse_timezone(text: str) -> str:
    name = text.strip()
    if name.upper() in ("UTC", "GMT", "Z"):
        return "UTC"
    zone = _zones_by_lower_name().get(name.lower())
    if zone is not None:
        try:
            ZoneInfo(zone)
            return zone
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise CommandError(
        f"{echo(text)} is not a time zone I know: use an IANA name such as Europe/Berlin, "
        "America/New_York or Asia/Tokyo"
    )


def parse_days(text: str) -> tuple[int, ...]:
    value = text.strip().lower().replace(" ", "")
    if value in DAY_PRESETS:
        return DAY_PRESETS[value]
    days: set[int] = set()
    for part in filter(None, value.split(",")):
        ends = part.split("-")
        if len(ends) > 2 or any(e[:3] not in WEEKDAYS for e in ends):
            raise CommandError(
                f"{echo(text)} is not a set of days: use mon-fri, daily, or a list like mon,wed,fri"
            )
        first, last = WEEKDAYS.index(ends[0][:3]), WEEKDAYS.index(ends[-1][:3])
        wraps = first > last  # fri-mon runs over the weekend
        days.update((*range(first, 7), *range(last + 1)) if wraps else range(first, last + 1))
    if not days:
        raise CommandError("name at least one day: mon-fri, daily, or a list like mon,wed,fri")
    return tuple(sorted(days))


def _whole_number(text: str) -> int | None:
    # ASCII digits only: str.isdigit() also accepts "³", which int() then refuses.
    value = text.strip()
    return int(value) if value.isascii() and value.isdigit() else None


def parse_top_n(text: str) -> int:
    if (n := _whole_number(text)) is not None and 1 <= n <= MAX_TOP_N:
        return n
    raise CommandError(f"{echo(text)} is not a number of papers: use 1 to {MAX_TOP_N}")


def parse_min_upvotes(text: str) -> int:
    if (n := _whole_number(text)) is not None and n <= 100_000:
        return n
    raise CommandError(f"{echo(text)} is not a number of upvotes: use a whole number, 0 or more")


def parse_weekly(text: str) -> WeeklyTime | None:
    """``fri 16:00`` (any day name of three letters or more, any time ``set time``
    takes), or ``off`` (None)."""
    value = text.strip().lower()
    if value in ("off", "no", "none"):
        return None
    day, _, at = value.partition(" ")
    if len(day) >= 3 and at.strip():
        names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        found = [i for i, name in enumerate(names) if name.startswith(day.rstrip("s"))]
        if len(found) == 1:
            try:
                return WeeklyTime(found[0], parse_time(at))
            except CommandError:
                pass
    raise CommandError(
        f"{echo(text)} is not a weekly time: use a day and a time (set weekly fri 16:00), or off"
    )


def weekly_text(settings: ChannelSettings) -> str:
    """The roundup setting as ``settings`` shows it."""
    if settings.weekly is None:
        return "off"
    day = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")
    return f"{day[settings.weekly.day]} at {settings.weekly.at:%H:%M} ({settings.timezone})"


def parse_on_off(text: str) -> bool:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1"):
        return True
    if value in ("off", "no", "false", "0"):
        return False
    raise CommandError(f"{echo(text)} is not on or off: use set threads on, or set threads off")


@dataclass(frozen=True, slots=True)
class Setting:
    """One ``set NAME VALUE`` setting: its names, an example value, how a value
    applies, and how the result reads in a confirmation."""

    name: str
    aliases: tuple[str, ...]
    example: str
    apply: Callable[[ChannelSettings, str], ChannelSettings]
    describe: Callable[[ChannelSettings], str]


# The one table of settings and their aliases (the grammar, the handlers and the
# Discord command tree all read it).
SETTINGS = {
    s.name: s
    for s in (
        Setting(
            "time", (), "08:30",
            lambda c, v: replace(c, post_time=parse_time(v)),
            lambda c: f"the digest time to {c.post_time:%H:%M} ({c.timezone})",
        ),
        Setting(
            "tz", ("timezone",), "Europe/Berlin",
            lambda c, v: replace(c, timezone=parse_timezone(v)),
            lambda c: f"the time zone to {c.timezone}",
        ),
        Setting(
            "top", (), "5",
            lambda c, v: replace(c, top_n=parse_top_n(v)),
            lambda c: f"the digest size to {c.top_n} papers",
        ),
        Setting(
            "days", (), "mon-fri",
            lambda c, v: replace(c, days=parse_days(v)),
            lambda c: f"the digest days to {c.days_text()}",
        ),
        Setting(
            "threads", (), "on",
            lambda c, v: replace(c, threads=parse_on_off(v)),
            lambda c: f"threads {'on' if c.threads else 'off'}",
        ),
        Setting(
            "min-upvotes", ("min_upvotes", "minupvotes"), "10",
            lambda c, v: replace(c, min_upvotes=parse_min_upvotes(v)),
            lambda c: f"the minimum upvotes to {c.min_upvotes}",
        ),
        Setting(
            "weekly", ("roundup",), "fri 16:00",
            lambda c, v: replace(c, weekly=parse_weekly(v)),
            lambda c: f"the weekly roundup to {weekly_text(c)}",
        ),
    )
}  # fmt: skip
SETTING_NAMES = tuple(SETTINGS)
_BY_ALIAS = {alias: s for s in SETTINGS.values() for alias in (s.name, *s.aliases)}


def setting_named(word: str) -> Setting | None:
    """The setting a user's word names (any alias, any case), if any."""
    return _BY_ALIAS.get(word.lower())


def apply_setting(settings: ChannelSettings, name: str, value: str) -> ChannelSettings:
    """A copy of ``settings`` with one setting changed; CommandError on a bad value."""
    setting = setting_named(name)
    if setting is None:
        raise CommandError(
            f"there is no setting {echo(name)}: use one of {', '.join(SETTING_NAMES)} "
            "(e.g. set time 08:30)"
        )
    return setting.apply(settings, value)

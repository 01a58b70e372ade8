"""The weekly roundup: what a channel's week adds up to, as one message.

"The week" of a roundup is the 7 days ending at its post time (an instant, so
the channel's zone only decides when that is): the team's votes cast in
``[end - 7 days, end)``, and the featured days *completed* in that span (day D
is complete at D+1 00:00 UTC, see featured_day.py), so a Friday 16:00 Berlin
roundup covers last Friday to this Thursday.

It lists papers by reference (title, link, counts): a summary, not digest
entries, so nothing here is marked posted and the never-twice rule of digests
is untouched. Its week key is the ISO week of its post time in the channel's
zone (``2026-W48``): one roundup per channel and week.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.delivery.digest import by_upvotes
from paperpost.bot.feedback.reading_list import team_top
from paperpost.bot.feedback.votes import Vote
from paperpost.bot.papers.model import Paper

WEEK = timedelta(days=7)
TEAM_PICKS = 5  # the team's most liked and saved papers listed
MISSED_PAPERS = 5  # the week's most upvoted papers this channel was not shown


@dataclass(frozen=True, slots=True)
class TeamPick:
    """A paper the team liked or saved this week, by reference."""

    paper_id: str
    title: str  # the stored title; the id when the paper is not stored
    url: str
    likes: int
    saves: int


@dataclass(frozen=True, slots=True)
class Roundup:
    channel: ChannelKey
    week: str  # ISO week of the post time in the channel's zone: "2026-W48"
    start: datetime  # the week covered, [start, end), in the channel's zone
    end: datetime
    team: tuple[TeamPick, ...]
    missed: tuple[Paper, ...]

    @property
    def marker(self) -> str:
        """Identifies the roundup's message on the platform, to find it after a crash."""
        return f"paperpost-weekly:{self.channel}:{self.week}"

    @property
    def headline(self) -> str:
        last = self.end - timedelta(minutes=1)
        return f"Weekly roundup, {self.start:%a %d %b} to {last:%a %d %b %Y}"

    @property
    def is_empty(self) -> bool:
        return not self.team and not self.missed


def week_key(post_at: datetime) -> str:
    """The ISO week of a roundup's post time (aware, in the channel's zone)."""
    year, week, _ = post_at.isocalendar()
    return f"{year}-W{week:02d}"


def days_in_week(days: Iterable[date], end: datetime) -> list[date]:
    """The featured days completed in the 7 days ending at ``end``."""
    start_utc, end_utc = (end - WEEK).astimezone(UTC), end.astimezone(UTC)
    return [
        d
        for d in days
        if start_utc < datetime.combine(d + timedelta(days=1), time(), UTC) <= end_utc
    ]


def build_roundup(
    channel: ChannelKey,
    end: datetime,
    *,
    votes: Iterable[Vote],
    papers_of_week: Sequence[Paper],
    posted: set[str],
    stored: dict[str, Paper],
    missed: int = MISSED_PAPERS,
) -> Roundup:
    """The roundup posted at ``end``: ``votes`` are the channel's, ``papers_of_week`` every
    paper of the week's featured days, ``posted`` the ids the channel was shown,
    ``stored`` the stored papers the votes name; ``missed`` how many unshown to list."""
    start = end - WEEK
    in_week = [v for v in votes if v.at < end]
    picks = tuple(
        TeamPick(
            t.paper_id,
            stored[t.paper_id].title if t.paper_id in stored else t.paper_id,
            stored[t.paper_id].hf_url if t.paper_id in stored else "",
            len(t.likes),
            len(t.saves),
        )
        for t in team_top(in_week, since=start, limit=TEAM_PICKS)
    )
    listed = posted | {p.paper_id for p in picks}
    unseen = {p.id: p for p in papers_of_week if p.id not in listed}
    shown = tuple(sorted(unseen.values(), key=by_upvotes)[:missed])
    return Roundup(channel, week_key(end), start, end, picks, shown)

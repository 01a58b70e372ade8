"""The feedback commands: ``like``, ``save``, ``saved``, ``unsave``, ``forget me``,
``top team``. Synchronous, like every handler; replies are plain ``Reply`` text
(adapters escape it, so display names and titles ping nobody)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.query import parse_query
from paperpost.bot.channels.grammar import Command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.plain_text import echo, shorten
from paperpost.bot.channels.replies import Reply
from paperpost.bot.errors import CommandError
from paperpost.bot.feedback.reading_list import Tally, reading_list, team_top
from paperpost.bot.feedback.votes import MAX_NAME, FeedbackStore, Kind, Vote
from paperpost.bot.papers.model import Paper

PERIODS = {"week": timedelta(days=7), "month": timedelta(days=30), "all": None}
TEAM_TOP = 10
ANONYMOUS = "someone"  # a vote needs a user; a caller the platform did not name


def display_name(name: str | None, user: str) -> str:
    """The name kept with a vote: the platform's display name on one line, capped,
    else the user id. Plain text: every adapter escapes it where it is shown."""
    line = " ".join("".join(c for c in name or "" if c.isprintable()).split())
    return (line or user)[:MAX_NAME]


class FeedbackCommands:
    def __init__(
        self, *, votes: FeedbackStore, library: PaperLibrary, clock: Callable[[], datetime]
    ) -> None:
        self.votes = votes
        self._library = library
        self._clock = clock

    def run(
        self, channel: ChannelKey, command: Command, user: str | None, name: str | None = None
    ) -> Reply:
        who = user or ANONYMOUS
        if command.name in ("like", "save"):
            return self._toggle(channel, command, Kind(command.name), who, display_name(name, who))
        if command.name == "saved":
            return self._saved(channel, command.arg.lower() or "all")
        if command.name == "unsave":
            return self._unsave(channel, command.arg, who)
        if command.name == "forget":
            n = self.votes.forget_user(channel, who)
            return Reply(text=f"Forgot your {n} vote(s) and save(s) in this channel.")
        assert command.name == "top"  # "top team [week|month]"
        return self._team_top(channel, command.arg.lower().removeprefix("team").strip())

    def _paper(self, reference: str) -> Paper:
        paper_id = parse_query(reference).paper_id
        paper = self._library.get(paper_id) if paper_id else None
        if paper is None:
            raise CommandError(
                f"no paper {echo(reference)} is stored: give an arXiv id like 2608.19880 "
                "or a paper URL"
            )
        return paper

    def _toggle(
        self, channel: ChannelKey, command: Command, kind: Kind, user: str, name: str
    ) -> Reply:
        paper = self._paper(command.arg)
        vote = Vote(channel, paper.id, kind, user, name, self._clock())
        cast = self.votes.toggle(vote)
        count = len([v for v in self.votes.votes(channel) if v.paper_id == paper.id
                     and v.kind is kind])  # fmt: skip
        title = shorten(paper.title, 80)
        if kind is Kind.LIKE:
            done = "👍 You liked" if cast else "You took back your 👍 on"
            return Reply(text=f"{done} {paper.id} “{title}” ({count} like(s) here).")
        done = "🔖 Saved" if cast else "Removed your 🔖 from"
        return Reply(text=f"{done} {paper.id} “{title}” ({count} save(s) here; see /papers saved).")

    def _since(self, period: str) -> datetime | None:
        if period not in PERIODS:
            raise CommandError(f"{echo(period)} is not a period: use week, month or all")
        span = PERIODS[period]
        return self._clock() - span if span else None

    def _saved(self, channel: ChannelKey, period: str) -> Reply:
        listed = reading_list(self.votes.votes(channel), since=self._since(period))
        if not listed:
            return Reply(text="Nothing saved here yet: press 🔖 on a paper, or /papers save ID.")
        lines = [f"Reading list ({len(listed)} paper(s), newest first):"]
        lines += [self._line(i, t, saves=True) for i, t in enumerate(listed, 1)]
        return Reply(text="\n".join(lines))

    def _line(self, rank: int, tally: Tally, *, saves: bool) -> str:
        paper = self._library.get(tally.paper_id)
        title = shorten(paper.title, 100) if paper else tally.paper_id
        url = paper.arxiv_url if paper else ""
        if saves:
            who = ", ".join(shorten(name, 40) for name in tally.savers)
            counts = f"saved by {who} ({len(tally.saves)})"
        else:
            voters = dict.fromkeys(shorten(v.name, 40) for v in (*tally.likes, *tally.saves))
            counts = f"👍 {len(tally.likes)} · 🔖 {len(tally.saves)} · by {', '.join(voters)}"
        return f"{rank}. {title} {url}\n    {counts}"

    def _unsave(self, channel: ChannelKey, arg: str, user: str) -> Reply:
        reference, _, scope = arg.partition(" ")
        paper = self._paper(reference)
        everyone = scope.strip().lower() == "all"
        removed = self.votes.remove(channel, paper.id, Kind.SAVE, None if everyone else user)
        if not removed:
            return Reply(text=f"{paper.id} is not on " + ("the" if everyone else "your")
                         + " reading list here.")  # fmt: skip
        whose = f"all {removed} save(s) of" if everyone else "your save of"
        return Reply(text=f"Removed {whose} {paper.id} from this channel's reading list.")

    def _team_top(self, channel: ChannelKey, period: str) -> Reply:
        since = self._since(period or "week")
        assert since is not None
        ranked = team_top(self.votes.votes(channel), since=since, limit=TEAM_TOP)
        label = "month" if period == "month" else "week"
        if not ranked:
            return Reply(text=f"No 👍 or 🔖 in this channel over the last {label}.")
        lines = [f"This channel's most liked and saved papers of the last {label}:"]
        lines += [self._line(i, t, saves=False) for i, t in enumerate(ranked, 1)]
        return Reply(text="\n".join(lines))

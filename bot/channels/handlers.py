"""What each command does. Synchronous and quick (store and index reads), so
the core runs them off the event loop; replies are neutral ``Reply`` values."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from paperpost.bot.catalog.library import PaperLibrary
from paperpost.bot.catalog.query import Query, parse_query
from paperpost.bot.catalog.query_explain import why_reason
from paperpost.bot.catalog.relevance import Suggestion
from paperpost.bot.channels.grammar import CHANGES_CHANNEL, FEEDBACK_COMMANDS, USAGE, Command
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.plain_text import DAY_FORMAT, day_text, echo, plural, shorten
from paperpost.bot.channels.registry import ChannelRegistry
from paperpost.bot.channels.replies import Reply, changed, error
from paperpost.bot.channels.settings import (
    MAX_SUBSCRIPTION_LENGTH,
    MAX_SUBSCRIPTIONS,
    SETTINGS,
    ChannelSettings,
    apply_setting,
    weekly_text,
)
from paperpost.bot.delivery.digest import DayMatcher, build_digest
from paperpost.bot.delivery.ledger import Ledger
from paperpost.bot.errors import CommandError, UserError
from paperpost.bot.feedback.commands import FeedbackCommands
from paperpost.bot.papers.model import Paper

SEARCH_RESULTS = 5
SNAPSHOT_NOTE = (
    "Papers: the bundled snapshot (Hugging Face could not be reached); live papers "
    "replace it once it can"
)
WEEKEND = 5  # date.weekday() of Saturday
PREVIEW_DAYS = 5

SettingsListener = Callable[[ChannelKey, ChannelSettings], None]


def _did_you_mean(fix: Suggestion) -> str:
    return f"Did you mean: {shorten(fix.query, 120)} ({plural(fix.count, 'paper')})?"


def paper_named(library: PaperLibrary, reference: str) -> Paper | None:
    """The stored paper an arXiv id or URL names; ``QueryError`` when malformed."""
    query = parse_query(reference)
    found = library.search(query, limit=1) if query.paper_id else []
    return found[0] if found else None


class CommandHandlers:
    def __init__(
        self,
        *,
        library: PaperLibrary,
        channels: ChannelRegistry,
        ledger: Ledger,
        clock: Callable[[], datetime],
        on_settings_changed: SettingsListener,
        next_post: Callable[[ChannelKey, ChannelSettings], datetime | None],
        papers_from: Callable[[], str | None] = lambda: None,
        feedback: FeedbackCommands | None = None,
    ) -> None:
        self._library = library
        self._channels = channels
        self._ledger = ledger
        self._clock = clock
        self._changed = on_settings_changed
        self._next_post = next_post
        self._papers_from = papers_from
        self._feedback = feedback

    def run(
        self, channel: ChannelKey, command: Command, *, user: str | None = None,
        name: str | None = None,
    ) -> Reply:  # fmt: skip
        """The reply to ``command``, stamped with its name; a ``UserError`` becomes
        an error reply. Anything else propagates to the core's error sink. ``name``:
        the user's display name (kept with their votes)."""
        handler: Callable[[ChannelKey, Command], Reply]
        team = command.name == "top" and command.arg.lower().startswith("team")
        if self._feedback is not None and (command.name in FEEDBACK_COMMANDS or team):
            feedback = self._feedback
            handler = lambda channel, command: feedback.run(channel, command, user, name)  # noqa: E731
        else:
            handler = getattr(self, "do_" + command.name)
        changing = command.name in CHANGES_CHANNEL
        try:
            with self._channels.changing() if changing else contextlib.nullcontext():
                reply = handler(channel, command)
        except UserError as exc:
            return error(str(exc), command=command.name)
        return replace(reply, command=command.name)

    def _save(self, channel: ChannelKey, settings: ChannelSettings) -> None:
        self._channels.save(channel, settings)
        self._changed(channel, settings)

    # -- reading -------------------------------------------------------------
    def do_help(self, channel: ChannelKey, command: Command) -> Reply:
        return Reply(text=USAGE)

    def do_search(self, channel: ChannelKey, command: Command) -> Reply:
        query = parse_query(command.arg)
        papers = tuple(self._library.search(query, limit=SEARCH_RESULTS))
        if not papers:
            return self._no_match(query)
        return Reply(
            text=f"Top {plural(len(papers), 'match', 'matches')} for “{shorten(str(query), 120)}”",
            papers=papers,
            shareable=True,
        )

    def _no_match(self, query: Query) -> Reply:
        """Did you mean (misspelt words), else a relaxed search (any half of the words)."""
        said = f"No papers match “{shorten(str(query), 120)}”."
        fix = self._library.relevance.suggest(query)
        if fix is not None:
            return Reply(text=f"{said} {_did_you_mean(fix)}")
        relaxed = tuple(self._library.relevance.relaxed(query, limit=SEARCH_RESULTS))
        if relaxed:
            return Reply(
                text=f"{said} Relaxed: the papers holding the most of its words (at least half; "
                "their AI summary counts)",
                papers=relaxed,
                shareable=True,
            )
        return Reply(
            text=f"{said} Try fewer words, OR between alternatives, or a prefix like robot*."
        )

    def do_similar(self, channel: ChannelKey, command: Command) -> Reply:
        paper = paper_named(self._library, command.arg)
        if paper is None:
            raise CommandError(
                f"no paper {echo(command.arg)} is stored: give an arXiv id like "
                "2608.19880 or a paper URL"
            )
        papers = tuple(self._library.relevance.similar(paper, limit=SEARCH_RESULTS))
        if not papers:
            return Reply(text=f"No papers like “{shorten(paper.title, 120)}” yet.")
        return Reply(
            text=f"Papers like “{shorten(paper.title, 120)}”", papers=papers, shareable=True
        )

    def do_show(self, channel: ChannelKey, command: Command) -> Reply:
        paper = paper_named(self._library, command.arg)
        if paper is None:
            raise CommandError(
                f"no paper {echo(command.arg)} is stored: give an arXiv id like "
                "2608.19880 or a paper URL, or search with /papers search"
            )
        return Reply(text="", papers=(paper,), shareable=True)

    def do_top(self, channel: ChannelKey, command: Command) -> Reply:
        latest = self._library.latest_day()
        if latest is None:
            return Reply(
                text="No papers stored yet: the recent featured days are being fetched "
                "from Hugging Face; try again in a minute."
            )
        span = {"week": 7, "month": 30}.get(command.arg.lower(), 1)
        days = [d for d in self._library.days() if latest - d < timedelta(days=span)]
        papers = tuple(self._library.top(days, limit=self._channels.get(channel).top_n))
        label = {1: day_text(latest), 7: "the last week", 30: "the last month"}[span]
        return Reply(text=f"Most upvoted papers of {label}", papers=papers, shareable=True)

    def do_list(self, channel: ChannelKey, command: Command) -> Reply:
        subs = self._channels.get(channel).subscriptions
        if not subs:
            return Reply(
                text="No saved searches: this channel gets the day's overall top papers. "
                "Add one with /papers subscribe QUERY."
            )
        lines = [f"{i}. {q}" for i, q in enumerate(subs, 1)]
        return Reply(text="Saved searches for this channel:\n" + "\n".join(lines))

    def do_settings(self, channel: ChannelKey, command: Command) -> Reply:
        s = self._channels.get(channel)
        next_post = self._next_post(channel, s)
        state = "paused" if s.paused else "active"
        if s.paused_reason:
            state += f" ({s.paused_reason})"
        lines = [
            f"Digest: {state}",
            f"Time: {s.post_time:%H:%M} {s.timezone}, days {s.days_text()}",
            f"Papers per digest: {s.top_n}, minimum upvotes: {s.min_upvotes}",
            f"Threads: {'on' if s.threads else 'off'}",
            f"Saved searches: {len(s.subscriptions)} (see /papers list)",
            f"Weekly roundup: {weekly_text(s)}",
        ]
        if next_post and not s.paused:
            lines.append(f"Next digest: {next_post:{DAY_FORMAT} %H:%M %Z}")
        if self._papers_from() == "snapshot":
            lines.append(SNAPSHOT_NOTE)
        return Reply(text="\n".join(lines))

    def do_why(self, channel: ChannelKey, command: Command) -> Reply:
        query = parse_query(command.arg)
        paper_id = query.paper_id
        if paper_id is None:
            raise CommandError("why takes an arXiv id or paper URL, e.g. /papers why 2608.19880")
        found = self._ledger.why(channel, paper_id)
        if found is None:
            return Reply(text=f"{paper_id} was never posted in this channel's digest.")
        day, matched = found
        reason = why_reason(matched, self._library.get(paper_id))
        return Reply(text=f"{paper_id} was in the digest of {day_text(day)} because {reason}.")

    def do_preview(self, channel: ChannelKey, command: Command) -> Reply:
        settings = self._channels.get(channel)
        subs = list(settings.subscriptions)
        if command.arg:
            subs.append(str(parse_query(command.arg)))
        days = self._library.days()[-PREVIEW_DAYS:][::-1]
        if not days:
            return Reply(text="No papers stored yet, so there is nothing to preview.")
        lines, newest = [], None
        for day in days:
            matcher = DayMatcher(self._library.papers_on(day))
            digest = build_digest(
                channel, day, matcher, subscriptions=subs, posted=(),
                min_upvotes=settings.min_upvotes, top_n=10_000,
            )  # fmt: skip
            shown = min(len(digest.entries), settings.top_n)
            lines.append(
                f"{day_text(day)}: {len(digest.entries)} matching, {shown} would be posted"
            )
            newest = newest or digest
        what = "this channel's digest" + (
            f" with “{shorten(subs[-1], 80)}” added" if command.arg else ""
        )
        assert newest is not None
        carried = (
            f"It would have carried on {day_text(newest.day)}:"
            if newest.entries
            else f"It would have carried nothing on {day_text(newest.day)}: no paper of that "
            "day matched (and had enough upvotes)."
        )
        return Reply(
            text=f"Preview of {what} over the last {plural(len(days), 'featured day')}:\n"
            + "\n".join(lines)
            + "\n"
            + carried,
            papers=newest.papers[: settings.top_n],
            shareable=True,
        )

    # -- changing ------------------------------------------------------------
    def do_subscribe(self, channel: ChannelKey, command: Command) -> Reply:
        if len(command.arg) > MAX_SUBSCRIPTION_LENGTH:
            raise CommandError(
                f"a saved search can be at most {MAX_SUBSCRIPTION_LENGTH} characters; "
                "shorten it or split it into two subscriptions"
            )
        query = str(parse_query(command.arg))
        settings = self._channels.get(channel)
        if query in settings.subscriptions:
            return Reply(text=f"This channel is already subscribed to “{query}”.")
        if len(settings.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise CommandError(
                f"this channel has {MAX_SUBSCRIPTIONS} saved searches, the most it can have: "
                "remove one with /papers unsubscribe N, or combine two with OR"
            )
        self._save(channel, replace(settings, subscriptions=(*settings.subscriptions, query)))
        recent = self._recent_volume(query)
        first = "" if settings.subscriptions else self._first_digest(channel, settings)
        return changed(
            f"Subscribed to “{query}”. {recent} Digest at {settings.post_time:%H:%M} "
            f"{settings.timezone} ({settings.days_text()}).{first}",
            announcement=f"subscribed this channel to “{query}”",
        )

    def _first_digest(self, channel: ChannelKey, settings: ChannelSettings) -> str:
        """For a channel's first saved search: when its first digest comes, and how to
        see one now."""
        when = None if settings.paused else self._next_post(channel, settings)
        if when is None:
            return " To post a digest now: /papers post."
        return (
            f" The first digest comes {when:%a %d %b at %H:%M} {settings.timezone}; "
            "to post one now: /papers post."
        )

    def _recent_volume(self, query: str) -> str:
        days = self._library.days()[-PREVIEW_DAYS:]
        parsed = parse_query(query)
        total = 0
        for day in days:
            matcher = DayMatcher(self._library.papers_on(day))
            total += len(matcher.ids_matching(str(parsed)))
        over = plural(len(days), "featured day")
        said = f"It matched {plural(total, 'paper')} over the last {over}."
        fix = self._library.relevance.suggest(parsed) if total == 0 else None
        return f"{said} {_did_you_mean(fix)}" if fix is not None else said

    def do_unsubscribe(self, channel: ChannelKey, command: Command) -> Reply:
        settings = self._channels.get(channel)
        subs = list(settings.subscriptions)
        arg = command.arg.strip()
        if arg.lower() == "all":
            removed = subs
        elif arg.isdigit() and 1 <= int(arg) <= len(subs):
            removed = [subs[int(arg) - 1]]
        else:
            wanted = arg if arg.isdigit() else str(parse_query(arg))
            if wanted not in subs:
                raise CommandError(
                    f"this channel has no saved search {echo(arg)}: "
                    "see the numbers with /papers list"
                )
            removed = [wanted]
        if not removed:
            return Reply(text="This channel has no saved searches.")
        remaining = tuple(q for q in subs if q not in removed)
        self._save(channel, replace(settings, subscriptions=remaining))
        what = "all saved searches" if len(removed) > 1 else f"“{removed[0]}”"
        return changed(f"Removed {what}.", announcement=f"unsubscribed this channel from {what}")

    def do_set(self, channel: ChannelKey, command: Command) -> Reply:
        assert command.setting is not None
        settings = apply_setting(self._channels.get(channel), command.setting, command.arg)
        self._save(channel, settings)
        described = SETTINGS[command.setting].describe(settings)
        text = f"Set {described}."
        if command.setting == "days" and any(day >= WEEKEND for day in settings.days):
            text += (
                " Note: Hugging Face features papers Monday to Friday only, so a weekend "
                "digest carries just the weekdays not posted yet (often none)."
            )
        return changed(text, announcement=f"set {described}")

    def do_pause(self, channel: ChannelKey, command: Command) -> Reply:
        settings = self._channels.get(channel)
        if settings.paused:
            return Reply(text="The digest is already paused. /papers resume restarts it.")
        self._save(channel, replace(settings, paused=True, paused_reason=None))
        return changed("Paused the daily digest.", announcement="paused the daily digest")

    def do_resume(self, channel: ChannelKey, command: Command) -> Reply:
        settings = self._channels.get(channel)
        if not settings.paused:
            return Reply(text="The digest is not paused.")
        self._save(channel, replace(settings, paused=False, paused_reason=None))
        return changed("Resumed the daily digest.", announcement="resumed the daily digest")

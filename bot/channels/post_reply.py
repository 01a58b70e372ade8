"""The answer to ``post`` (a channel's next digest, now): what happened, in a sentence."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import Reply, error
from paperpost.bot.channels.settings import ChannelSettings
from paperpost.bot.delivery.featured_day import latest_featured_day_on_or_before
from paperpost.bot.delivery.outbox import Delivery, Outcome
from paperpost.bot.delivery.planner import DeliveryPlanner
from paperpost.bot.delivery.schedule import next_fire_time


def next_completion(now: datetime) -> tuple[date, datetime]:
    """The next featured day to complete after ``now``, and when (D+1 00:00 UTC)."""
    today = now.astimezone(UTC).date()
    day = today
    while latest_featured_day_on_or_before(day) != day:  # a weekend: Monday is next
        day += timedelta(days=1)
    return day, datetime.combine(day + timedelta(days=1), time(0), UTC)


def post_reply(delivery: Delivery, next_post: datetime | None, now: datetime) -> Reply:
    day = f"{delivery.day:%a %d %b %Y}"
    later = f" Next scheduled digest: {next_post:%a %d %b %H:%M} {next_post.tzinfo}." if (
        next_post is not None
    ) else ""  # fmt: skip
    match delivery.outcome:
        case Outcome.SENT:
            papers = "1 paper" if delivery.papers == 1 else f"{delivery.papers} papers"
            text = f"Posted this channel's digest: {papers}, newest featured day {day}.{later}"
        case Outcome.ALREADY_SENT:
            upcoming, completes = next_completion(now)
            text = (
                f"Nothing new to post: the last digest here carried {day}, and no featured "
                f"day has completed since. {upcoming:%a %d %b} completes at "
                f"{completes:%a %d %b %H:%M} UTC.{later}"
            )
        case Outcome.EMPTY:
            text = (
                f"No paper of {day} matched this channel's saved searches and minimum "
                f"upvotes, so nothing was posted.{later}"
            )
        case Outcome.WAITING:
            return error(
                f"Hugging Face has no papers for {day} yet (or cannot be reached); "
                "the digest goes out once it has them (asked again every 10 minutes).",
                command="post",
            )
        case Outcome.CLAIMED:
            text = "Another Paperpost process is posting this channel's digest right now."
        case _:
            detail = f": {delivery.detail}" if delivery.detail else ""
            return error(f"The digest was not posted ({delivery.outcome}{detail}).", command="post")
    return Reply(text=text, command="post")


async def post_now(
    planner: DeliveryPlanner, channel: ChannelKey, settings: ChannelSettings
) -> Reply:
    """The ``post`` command: the channel's next digest, now, through the ledger."""
    if settings.paused:
        return Reply(text="The digest is paused here: /papers resume first.", command="post")
    delivery = await planner.post_now(channel)
    now = planner.clock()
    return post_reply(delivery, next_fire_time(settings, now), now)

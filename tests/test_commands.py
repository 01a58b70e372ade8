"""The command grammar and the replies a channel gets, through the real core."""

from __future__ import annotations

from datetime import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.grammar import Command, parse_command
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.errors import CommandError

SLACK = ChannelKey("slack", "T1", "C1")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/papers search diffusion video", Command("search", "diffusion video")),
        ("search   agents  ", Command("search", "agents")),
        ("", Command("help")),
        ("/papers", Command("help")),
        ("SET TZ Europe/Berlin", Command("set", "Europe/Berlin", "tz")),
        ("set min-upvotes 10", Command("set", "10", "min-upvotes")),
        ("top week", Command("top", "week")),
        ("unsubscribe all", Command("unsubscribe", "all")),
    ],
)
def test_parse(line: str, expected: Command) -> None:
    assert parse_command(line) == expected


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("frobnicate", "unknown command 'frobnicate'"),
        ("search", "search what?"),
        ("set colour blue", "set what?"),
        ("set time", "set time to what?"),
        ("top year", "week or month"),
        ("search " + "x" * 5000, "characters long"),
    ],
)
def test_parse_errors_name_the_fix(line: str, hint: str) -> None:
    with pytest.raises(CommandError, match=hint):
        parse_command(line)


async def test_subscribe_list_unsubscribe_round_trip(core: Paperpost) -> None:
    reply = await core.handle(SLACK, "/papers subscribe agents OR agent", user="U1")
    assert not reply.is_error and reply.announcement
    assert "subscribed this channel to" in reply.announcement
    again = await core.handle(SLACK, "subscribe agents OR agent")
    assert "already subscribed" in again.text
    listing = await core.handle(SLACK, "list")
    assert "1. " in listing.text
    removed = await core.handle(SLACK, "unsubscribe 1")
    assert not removed.is_error and removed.announcement
    assert "No saved searches" in (await core.handle(SLACK, "list")).text


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("set time 25:99", "HH:MM"),
        ("set tz Mars/Olympus", "IANA"),
        ("set top 99", "1 to 20"),
        ("set days someday", "mon-fri"),
        ("subscribe cat:cs.CL", "author"),  # the error lists the fields that exist
        ('subscribe "unclosed', "quote"),
        ("unsubscribe 7", "/papers list"),
        ("frobnicate", "help"),
    ],
)
async def test_user_errors_get_a_clear_reply(core: Paperpost, line: str, hint: str) -> None:
    reply = await core.handle(SLACK, line)
    assert reply.is_error
    assert hint.lower() in reply.text.lower()


async def test_settings_change_and_show(core: Paperpost) -> None:
    for line in (
        "set time 07:45",
        "set tz america/new_york",
        "set top 3",
        "set days mon,wed,fri",
        "set threads on",
        "set min-upvotes 4",
    ):
        reply = await core.handle(SLACK, line)
        assert not reply.is_error, reply.text
        assert reply.announcement
    settings = core.channels.get(SLACK)
    assert settings.post_time == time(7, 45)
    assert settings.timezone == "America/New_York"
    assert (settings.top_n, settings.days, settings.threads, settings.min_upvotes) == (
        3,
        (0, 2, 4),
        True,
        4,
    )
    text = (await core.handle(SLACK, "settings")).text
    assert "07:45 America/New_York" in text and "mon,wed,fri" in text


async def test_subscription_cap(core: Paperpost) -> None:
    for i in range(25):
        assert not (await core.handle(SLACK, f"subscribe topic{i}")).is_error
    reply = await core.handle(SLACK, "subscribe one-too-many")
    assert reply.is_error and "25" in reply.text


async def test_search_show_top_help(core: Paperpost) -> None:
    found = await core.handle(CONSOLE_CHANNEL, "search agent")
    assert found.papers and found.shareable
    paper = found.papers[0]
    shown = await core.handle(CONSOLE_CHANNEL, f"show https://arxiv.org/abs/{paper.id}v2")
    assert shown.papers == (paper,)
    assert (await core.handle(CONSOLE_CHANNEL, "show 9999.99999")).is_error
    assert (await core.handle(CONSOLE_CHANNEL, "top week")).papers
    assert "/papers search" in (await core.handle(CONSOLE_CHANNEL, "help")).text
    nothing = await core.handle(CONSOLE_CHANNEL, "search zzzqqqxxy")
    assert not nothing.is_error and "No papers match" in nothing.text


async def test_preview_shows_volume_per_day(core: Paperpost) -> None:
    reply = await core.handle(SLACK, "preview agent")
    assert not reply.is_error
    assert reply.text.count("matching") == 5  # the five bundled days


async def test_mention_syntax_never_survives_into_a_saved_search(core: Paperpost) -> None:
    reply = await core.handle(SLACK, "subscribe <!channel> @everyone")
    # The query language keeps only words; adapters still escape whatever they render.
    assert not reply.is_error
    assert reply.announcement == "subscribed this channel to “channel everyone”"
    assert core.channels.get(SLACK).subscriptions == ("channel everyone",)
    assert "<!" not in reply.text and "@" not in reply.text


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(line=st.text(max_size=300))
async def test_any_line_gets_a_reply_never_an_exception(core: Paperpost, line: str) -> None:
    reply = await core.handle(SLACK, line)
    assert reply.text or reply.papers

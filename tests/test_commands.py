"""The command grammar and the replies a channel gets, through the real core."""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperpost.bot.app import Paperpost
from paperpost.bot.channels.grammar import Command, parse_command
from paperpost.bot.channels.key import CONSOLE_CHANNEL, ChannelKey
from paperpost.bot.channels.replies import APOLOGY_REF, Reply
from paperpost.bot.channels.settings import (
    SETTINGS,
    ChannelSettings,
    apply_setting,
    setting_named,
)
from paperpost.bot.config import Config
from paperpost.bot.errors import CommandError
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.postgres import both_backends
from tests.scale import rounds

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


@both_backends
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


@both_backends
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


@pytest.fixture(scope="module")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder the bundled snapshot already filled, copied for each example."""
    folder = tmp_path_factory.mktemp("seeded") / "data"

    async def seed() -> None:
        core = await Paperpost.open(Config(data_dir=folder), source=BundledSnapshot())
        core.close()

    asyncio.run(seed())
    return folder


def test_any_line_gets_a_reply_never_an_exception(
    seeded_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Every line gets a reply, and never the error sink's apology: a crash turned
    into "sorry (ref PP-…)" fails. A fresh core per example, so no example
    depends on what an earlier one stored (and a failure replays alone)."""

    async def ask(folder: Path, line: str) -> Reply:
        core = await Paperpost.open(Config(data_dir=folder), source=BundledSnapshot())
        try:
            return await core.handle(SLACK, line)
        finally:
            core.close()

    @settings(max_examples=rounds(small=40, full=300), deadline=None, database=None)
    @given(line=st.text(max_size=300))
    def one(line: str) -> None:
        folder = tmp_path_factory.mktemp("example") / "data"
        shutil.copytree(seeded_store, folder)
        reply = asyncio.run(ask(folder, line))
        assert reply.text or reply.papers
        assert not APOLOGY_REF.search(reply.text), (line, reply.text)

    one()


@pytest.mark.parametrize(
    ("line", "command", "changed"),
    [
        ("subscribe agents", "subscribe", True),
        ("sub agents", "subscribe", False),  # already subscribed: nothing changed
        ("set top 3", "set", True),
        ("set top 99", "set", False),  # refused
        ("pause", "pause", True),
        ("pause", "pause", False),  # already paused
        ("search agents", "search", False),
        ("list", "list", False),
        ("frobnicate", None, False),  # did not parse: no command ran
    ],
)
async def test_a_reply_names_its_command_and_whether_it_changed_the_channel(
    core: Paperpost, line: str, command: str | None, changed: bool
) -> None:
    if line in ("sub agents", "pause") and not changed:  # do it once first
        await core.handle(SLACK, "subscribe agents" if line.startswith("sub") else line)
    reply = await core.handle(SLACK, line)
    assert (reply.command, reply.changed_channel) == (command, changed), reply.text
    assert reply.changed_channel == (reply.announcement is not None)


@pytest.mark.parametrize(
    ("line", "canonical"),
    [
        ("set timezone Asia/Tokyo", Command("set", "Asia/Tokyo", "tz")),
        ("set TZ Asia/Tokyo", Command("set", "Asia/Tokyo", "tz")),
        ("set min_upvotes 3", Command("set", "3", "min-upvotes")),
        ("set minupvotes 3", Command("set", "3", "min-upvotes")),
    ],
)
async def test_setting_aliases_mean_their_setting(
    core: Paperpost, line: str, canonical: Command
) -> None:
    assert parse_command(line) == canonical
    reply = await core.handle(SLACK, line)
    assert not reply.is_error, reply.text
    assert reply.text == (await core.handle(SLACK, canonical_line(canonical))).text


def canonical_line(command: Command) -> str:
    return f"set {command.setting} {command.arg}"


def test_every_setting_has_an_example_that_applies() -> None:
    for setting in SETTINGS.values():
        with pytest.raises(CommandError, match=rf"set {setting.name} {re.escape(setting.example)}"):
            parse_command(f"set {setting.name}")
        for alias in setting.aliases:
            assert setting_named(alias) is setting
        changed = apply_setting(ChannelSettings(), setting.name, setting.example)
        assert setting.describe(changed)

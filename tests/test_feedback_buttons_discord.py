"""👍/🔖 on Discord, end to end: a real discord.Client on the fake gateway, digests
posted with persistent buttons, presses as component interactions, reactions as
gateway events, edits as PATCHes of the channel message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from paperpost.adapters.discord import DiscordRuntime
from paperpost.adapters.discord.buttons import DiscordVotes
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.feedback.edits import EditCoalescer
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.discord_harness import connected, served
from tests.fakes.discord_fake import CHANNEL_ID, GUILD_ID, FakeDiscord

DAY = date(2026, 8, 21)
KEY = ChannelKey("discord", str(GUILD_ID), str(CHANNEL_ID))


async def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with served(monkeypatch) as server:
        yield server


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Paperpost]:
    app = await Paperpost.open(
        Config(data_dir=tmp_path / "data"), source=BundledSnapshot(),
        clock=lambda: datetime(2026, 8, 24, 9, 0, tzinfo=UTC), outbox_sleep=no_sleep,
    )  # fmt: skip
    yield app
    app.close()


async def connect(fake: FakeDiscord, core: Paperpost, tmp_path: Path) -> DiscordRuntime:
    running = await connected(fake, core, tmp_path)
    votes = running.client.votes
    votes.edits = EditCoalescer(votes._edit, per_message=0.3, gap=0.0)  # quicker than 1 s
    return running


@pytest.fixture
async def runtime(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> AsyncIterator[DiscordRuntime]:
    running = await connect(fake, core, tmp_path)
    yield running
    await running.stop()


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


def labels(message: dict[str, Any], paper: str) -> list[str]:
    return [
        c["label"]
        for row in message["components"]
        for c in row["components"]
        if c["custom_id"].endswith(":" + paper)
    ]


def votes_of(runtime: DiscordRuntime) -> DiscordVotes:
    return runtime.client.votes


async def post(core: Paperpost, *settings: str) -> None:
    for line in settings:
        assert not (await core.handle(KEY, line)).is_error
    [delivery] = await core.post_digests(day=DAY, channel=KEY)
    assert delivery.outcome.value == "sent", delivery


async def eventually(predicate: Any) -> None:
    for _ in range(250):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


async def test_digest_buttons_toggle_and_edits_keep_the_marker(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    # Defects caught: no buttons (or more than 5 rows) on a digest message; a press not
    # acknowledged or not toggling; an edit that rewrites the embeds (the footer marker
    # crash recovery matches on) or posts a part twice on resume.
    assert not (await core.handle(KEY, "set top 7")).is_error
    [digest] = core.digests_for_day(DAY, [KEY])
    await runtime.platform.post_digest(digest, resume=False)
    parts = fake.messages[CHANNEL_ID]
    assert len(parts) == 2 and [len(p["components"]) for p in parts] == [5, 2]
    paper = digest.entries[0].paper.id
    assert custom_ids(parts[0])[:2] == [f"pp:like:{paper}", f"pp:save:{paper}"]
    embeds = [dict(e) for e in parts[0]["embeds"]]

    interaction = await fake.press(parts[0], f"pp:like:{paper}")
    await fake.wait_for(lambda: fake.edits)
    assert next(c for c in fake.callbacks if c["id"] == interaction)["type"] == 6  # deferred
    assert labels(parts[0], paper) == ["Useful · 1", "Save"]
    assert parts[0]["embeds"] == embeds and "content" not in fake.edits[0]
    assert [(v.paper_id, v.kind) for v in core.feedback.votes(KEY)] == [(paper, "like")]

    await fake.press(parts[0], f"pp:like:{paper}")
    await fake.wait_for(lambda: len(fake.edits) == 2)
    assert labels(parts[0], paper) == ["Useful", "Save"] and core.feedback.votes(KEY) == []

    await runtime.platform.post_digest(digest, resume=True)
    assert len(fake.messages[CHANNEL_ID]) == 2  # found by their markers: nothing posted twice


async def test_buttons_still_work_after_a_restart(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> None:
    # Defect caught: buttons tied to the client that posted them (a View in memory):
    # after a restart a press would go unanswered and count nothing.
    first = await connect(fake, core, tmp_path)
    await post(core, "set top 2")
    await first.stop()
    second = await connect(fake, core, tmp_path)
    try:
        [message] = fake.messages[CHANNEL_ID]
        paper = custom_ids(message)[1].rsplit(":", 1)[1]
        await fake.press(message, f"pp:save:{paper}")
        await fake.wait_for(lambda: fake.edits)
        assert [(v.paper_id, v.kind) for v in core.feedback.votes(KEY)] == [(paper, "save")]
        assert "🔖 Save" not in labels(message, paper) and "Save · 1" in labels(message, paper)
    finally:
        await second.stop()


async def test_a_burst_of_presses_is_a_few_edits(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    # Defect caught: one message edit per press (the channel's bucket would 429).
    await post(core, "set top 1")
    [message] = fake.messages[CHANNEL_ID]
    paper = custom_ids(message)[0].rsplit(":", 1)[1]
    for user in range(25):
        await fake.press(message, f"pp:like:{paper}", user_id=1400000000000000100 + user)
    await eventually(lambda: len(core.feedback.votes(KEY)) == 25 and fake.edits)
    # The last press asks for its edit after its vote is stored: wait for the labels.
    await eventually(lambda: labels(message, paper) == ["Useful · 25", "Save"])
    await votes_of(runtime).edits.drain()
    assert 1 <= len(fake.edits) <= 4


async def test_reactions_on_a_thread_message_count(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    # Defects caught: reactions not heard (intent or handler missing); a reaction on the
    # list message or with another emoji counted.
    await post(core, "set top 2", "set threads on")
    listing = fake.messages[CHANNEL_ID][0]
    thread = fake.messages[int(listing["id"])]
    assert len(thread) == 2 and all(len(m["components"]) == 1 for m in thread)
    paper = custom_ids(thread[1])[0].rsplit(":", 1)[1]
    await fake.react(int(listing["id"]), thread[1]["id"], "🔖")
    await fake.react(int(listing["id"]), thread[1]["id"], "🎉")
    await fake.react(CHANNEL_ID, listing["id"], "👍")
    await eventually(lambda: core.feedback.votes(KEY))
    await fake.wait_for(lambda: fake.edits)
    assert [(v.paper_id, v.kind) for v in core.feedback.votes(KEY)] == [(paper, "save")]
    assert labels(thread[1], paper) == ["Useful", "Save · 1"]
    await fake.react(int(listing["id"]), thread[1]["id"], "🔖", added=False)
    await eventually(lambda: not core.feedback.votes(KEY))


async def test_forged_custom_ids_change_nothing(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    # Defect caught: a custom id used unchecked (a path, or a paper that is not stored).
    await post(core, "set top 1")
    [message] = fake.messages[CHANNEL_ID]
    await fake.press(message, "pp:like:../../etc/passwd")
    await fake.press(message, "pp:like:2609.99999")
    await asyncio.sleep(0.3)
    assert core.feedback.votes(KEY) == [] and fake.edits == []

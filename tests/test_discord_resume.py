"""Resuming a Discord digest once Discord's nonce window has passed.

Discord deduplicates a nonce for a few minutes only. A digest resumed later
(the next start, the retry sweep) must find its posted parts in the channel's
history itself: re-sending every part would post them twice. The fake's nonce
window runs on a clock the test moves past it.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from paperpost.adapters.discord import DiscordPlatform, open_discord_platform
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.errors import DeliveryError
from paperpost.bot.papers.model import Paper, papers_from_hf_day
from tests.discord_harness import served
from tests.fakes.discord_fake import CHANNEL_ID, GUILD_ID, FakeDiscord

DAY = date(2026, 8, 21)
KEY = ChannelKey("discord", str(GUILD_ID), str(CHANNEL_ID))
CHANNEL_MESSAGES = rf"/channels/{CHANNEL_ID}/messages"
THREAD_MESSAGES = r"/channels/15\d+/messages"  # a thread's id is its first message's id
WINDOW = 300.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def pass_the_nonce_window(self) -> None:
        self.now += WINDOW + 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> AsyncIterator[FakeDiscord]:
    async with served(monkeypatch, nonce_window=WINDOW, clock=clock) as server:
        yield server


@pytest.fixture
async def platform(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[DiscordPlatform]:
    config = Config(data_dir=tmp_path, discord_bot_token="t", discord_api_url=fake.api_url)
    posting = await open_discord_platform(config)
    yield posting
    await posting.aclose()


@functools.cache
def _papers() -> list[Paper]:
    folder = resources.files("paperpost.bot.papers").joinpath("snapshot_days")
    days = [
        papers_from_hf_day(json.loads(f.read_text("utf-8")), requested_day=DAY)
        for f in folder.iterdir() if f.name.endswith(".json")
    ]  # fmt: skip
    return sorted((p for day in days for p in day), key=lambda p: (-p.upvotes, p.id))


def make_digest(count: int = 20, *, threads: bool = False) -> Digest:
    return Digest(KEY, DAY, tuple(DigestEntry(p) for p in _papers()[:count]), threads)


def refs(messages: list[dict]) -> Counter[str]:
    """How often each digest part (the ref in its footer) is in ``messages``."""
    found: Counter[str] = Counter()
    for message in messages:
        for embed in message["embeds"]:
            found.update(
                re.findall(r"\bpp[0-9a-f]{23}\b", (embed.get("footer") or {}).get("text", ""))
            )
    return found


async def crash_after(fake: FakeDiscord, platform: DiscordPlatform, digest: Digest, *,
                      pattern: str, posted: int) -> None:  # fmt: skip
    """Post ``digest`` until ``posted`` messages matching ``pattern`` went through, then fail."""
    fake.fail("POST", pattern, status=403, code=50013, skip=posted)
    with pytest.raises(DeliveryError):
        await platform.post_digest(digest, resume=False)


async def test_two_parts_posted_resume_after_the_window_posts_only_the_rest(
    fake: FakeDiscord, platform: DiscordPlatform, clock: Clock
) -> None:
    digest = make_digest(20)
    await crash_after(fake, platform, digest, pattern=CHANNEL_MESSAGES, posted=2)
    assert len(fake.messages[CHANNEL_ID]) == 2
    clock.pass_the_nonce_window()

    await platform.post_digest(digest, resume=True)

    channel = refs(fake.messages[CHANNEL_ID])
    assert len(channel) > 2  # the digest has more parts than the two posted first
    assert set(channel.values()) == {1}  # every part exactly once
    assert len(fake.messages[CHANNEL_ID]) == len(channel)


async def test_a_thread_created_but_empty_is_filled_on_resume(
    fake: FakeDiscord, platform: DiscordPlatform, clock: Clock
) -> None:
    digest = make_digest(8, threads=True)
    await crash_after(fake, platform, digest, pattern=THREAD_MESSAGES, posted=0)
    [head] = fake.messages[CHANNEL_ID]
    thread_id = int(head["id"])
    assert fake.messages[thread_id] == []  # the thread exists, with nothing in it
    clock.pass_the_nonce_window()

    await platform.post_digest(digest, resume=True)  # 160004 "already created" is tolerated

    assert fake.messages[CHANNEL_ID] == [head]
    cards = refs(fake.messages[thread_id])
    assert sum(len(m["embeds"]) for m in fake.messages[thread_id]) == 8
    assert set(cards.values()) == {1}
    threads = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/threads")]
    assert len(threads) == 2  # created once; the resumed attempt was told it exists


async def test_a_half_filled_thread_gets_only_its_missing_cards(
    fake: FakeDiscord, platform: DiscordPlatform, clock: Clock
) -> None:
    digest = make_digest(20, threads=True)
    await crash_after(fake, platform, digest, pattern=THREAD_MESSAGES, posted=1)
    thread_id = int(fake.messages[CHANNEL_ID][0]["id"])
    assert len(fake.messages[thread_id]) == 1
    clock.pass_the_nonce_window()

    await platform.post_digest(digest, resume=True)

    assert sum(len(m["embeds"]) for m in fake.messages[thread_id]) == 20
    assert set(refs(fake.messages[thread_id]).values()) == {1}


async def test_parts_older_than_100_newer_messages_are_still_found(
    fake: FakeDiscord, platform: DiscordPlatform, clock: Clock
) -> None:
    digest = make_digest(20)
    await crash_after(fake, platform, digest, pattern=CHANNEL_MESSAGES, posted=2)
    for i in range(150):  # a busy channel while Paperpost was down
        fake.post_as_user(CHANNEL_ID, f"chatter {i}")
    clock.pass_the_nonce_window()

    await platform.post_digest(digest, resume=True)

    posted = refs(fake.messages[CHANNEL_ID])
    assert set(posted.values()) == {1}, posted

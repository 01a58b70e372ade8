"""Digest delivery through the post-only platform (REST, no gateway) against the fake."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from paperpost.adapters.discord import DiscordPlatform, fetch_application_id, open_discord_platform
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.claims import ClaimLost
from paperpost.bot.delivery.digest import Digest, DigestEntry
from paperpost.bot.errors import DeliveryError, UserError
from paperpost.bot.papers.model import Paper, papers_from_hf_day
from tests.discord_harness import served
from tests.fakes.discord_fake import APP_ID, CHANNEL_ID, GUILD_ID, FakeDiscord, embed_problems

DAY = date(2026, 8, 21)
KEY = ChannelKey("discord", str(GUILD_ID), str(CHANNEL_ID))
MESSAGES = rf"/channels/{CHANNEL_ID}/messages"


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with served(monkeypatch) as server:
        yield server


@pytest.fixture
async def platform(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[DiscordPlatform]:
    config = Config(data_dir=tmp_path, discord_bot_token="t", discord_api_url=fake.api_url)
    posting = await open_discord_platform(config)
    yield posting
    await posting.aclose()


def make_digest(count: int = 20, *, threads: bool = False) -> Digest:
    return Digest(KEY, DAY, tuple(DigestEntry(p) for p in _papers()[:count]), threads)


@functools.cache
def _papers() -> list[Paper]:
    folder = resources.files("paperpost.bot.papers").joinpath("snapshot_days")
    days = [
        papers_from_hf_day(json.loads(f.read_text("utf-8")), requested_day=DAY)
        for f in folder.iterdir() if f.name.endswith(".json")
    ]  # fmt: skip
    return sorted((p for day in days for p in day), key=lambda p: (-p.upvotes, p.id))


def channel_posts(fake: FakeDiscord) -> list[dict]:
    return fake.messages[CHANNEL_ID]


async def test_post_only_never_opens_the_gateway(
    fake: FakeDiscord, platform: DiscordPlatform
) -> None:
    await platform.post_digest(make_digest(), resume=False)
    assert "HELLO" not in fake.events
    posted = channel_posts(fake)
    assert len(posted) > 1  # 20 papers need several messages
    assert all(embed_problems(m) == [] for m in posted)
    assert sum(len(m["embeds"]) for m in posted) == 20
    assert len({m["nonce"] for m in posted}) == len(posted)
    assert all(m["allowed_mentions"] == {"parse": []} for m in posted)


async def test_same_nonce_never_duplicates(fake: FakeDiscord, platform: DiscordPlatform) -> None:
    digest = make_digest(3)
    await platform.post_digest(digest, resume=False)
    await platform.post_digest(digest, resume=False)  # e.g. the ledger write was lost
    assert len(channel_posts(fake)) == 1
    sent = [r.json for r in fake.requests if r.method == "POST"]
    assert all(body["enforce_nonce"] is True for body in sent)


@pytest.mark.parametrize("status,code", [(404, 10003), (403, 50001), (403, 50013)])
async def test_permanent_codes(
    fake: FakeDiscord, platform: DiscordPlatform, status: int, code: int
) -> None:
    fake.fail("POST", MESSAGES, status=status, code=code)
    with pytest.raises(DeliveryError) as caught:
        await platform.post_digest(make_digest(3), resume=False)
    assert caught.value.permanent


async def test_unknown_channel_is_permanent(fake: FakeDiscord, platform: DiscordPlatform) -> None:
    digest = Digest(ChannelKey("discord", str(GUILD_ID), "999"), DAY, make_digest(1).entries)
    with pytest.raises(DeliveryError) as caught:
        await platform.post_digest(digest, resume=False)
    assert caught.value.permanent and "10003" in str(caught.value)


async def test_other_errors_are_transient(fake: FakeDiscord, platform: DiscordPlatform) -> None:
    fake.fail("POST", MESSAGES, status=400, code=50035)
    with pytest.raises(DeliveryError) as caught:
        await platform.post_digest(make_digest(3), resume=False)
    assert not caught.value.permanent


async def test_rate_limit_is_waited_out_by_discord_py(
    fake: FakeDiscord, platform: DiscordPlatform
) -> None:
    fake.rate_limit("POST", MESSAGES, retry_after=0.05)
    await platform.post_digest(make_digest(3), resume=False)
    assert len(channel_posts(fake)) == 1
    assert [r.method for r in fake.requests if r.path == MESSAGES].count("POST") == 2


async def test_resume_posts_only_the_missing_parts(
    fake: FakeDiscord, platform: DiscordPlatform
) -> None:
    digest = make_digest(20)
    fake.fail("POST", MESSAGES, status=400, code=50035, skip=2)  # the third part fails
    with pytest.raises(DeliveryError):
        await platform.post_digest(digest, resume=False)
    assert len(channel_posts(fake)) == 2
    fake.requests.clear()
    await platform.post_digest(digest, resume=True)
    assert any(r.method == "GET" and r.path == MESSAGES for r in fake.requests)
    posted = channel_posts(fake)
    assert sum(len(m["embeds"]) for m in posted) == 20  # nothing twice, nothing missing
    footers = [m["embeds"][-1]["footer"]["text"] for m in posted]
    assert len(set(footers)) == len(footers)
    await platform.post_digest(digest, resume=True)  # all found: posts nothing
    assert channel_posts(fake) == posted


async def test_resume_in_threads_mode(fake: FakeDiscord, platform: DiscordPlatform) -> None:
    digest = make_digest(20, threads=True)
    fake.fail("POST", r"/channels/\d+/messages", status=400, code=50035, skip=2)
    with pytest.raises(DeliveryError):
        await platform.post_digest(digest, resume=False)
    [index] = channel_posts(fake)
    thread_id = int(index["id"])
    assert len(fake.messages[thread_id]) == 1
    await platform.post_digest(digest, resume=True)
    assert channel_posts(fake) == [index]
    assert sum(len(m["embeds"]) for m in fake.messages[thread_id]) == 20
    assert [e for e in fake.events if e.startswith("THREAD")] == [f"THREAD {thread_id}"]


async def test_fetch_application_id(fake: FakeDiscord) -> None:
    assert await fetch_application_id("t", fake.api_url) == APP_ID
    recorded = fake.requests[-1]
    assert recorded.path == "/oauth2/applications/@me"


async def test_fetch_application_id_bad_token(fake: FakeDiscord) -> None:
    fake.fail("GET", "/oauth2/applications/@me", status=401, code=0)
    with pytest.raises(UserError, match="401"):
        await fetch_application_id("bad", fake.api_url)


async def test_a_lost_claim_stops_posting_before_the_next_part(
    fake: FakeDiscord, platform: DiscordPlatform
) -> None:
    """The outbox's per-part hook raises once another process took the digest over:
    the parts already posted stay, no further part is posted."""
    checks = 0

    async def one_part_only() -> None:
        nonlocal checks
        checks += 1
        if checks > 1:
            raise ClaimLost("taken over")

    with pytest.raises(ClaimLost):
        await platform.post_digest(make_digest(), resume=False, before_part=one_part_only)
    assert len(channel_posts(fake)) == 1

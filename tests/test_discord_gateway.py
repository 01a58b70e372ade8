"""A real discord.Client against the loopback fake: login, gateway, slash commands, digests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import discord
import pytest

from paperpost.adapters.discord import DiscordRuntime, start_discord
from paperpost.bot.app import Paperpost
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.config import Config
from paperpost.bot.delivery.outbox import Outcome
from paperpost.bot.papers.snapshot import BundledSnapshot
from tests.discord_harness import served
from tests.fakes.discord_fake import (
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    USER_ID,
    FakeDiscord,
    embed_problems,
)

DAY = date(2026, 8, 21)  # a day of the bundled snapshot
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


def discord_config(fake: FakeDiscord, tmp_path: Path, *, guild: int | None = GUILD_ID) -> Config:
    return Config(
        data_dir=tmp_path / "data", discord_bot_token="fake-token",
        discord_api_url=fake.api_url, discord_gateway_url=fake.gateway_url,
        discord_guild_id=guild,
    )  # fmt: skip


@pytest.fixture
async def runtime(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> AsyncIterator[DiscordRuntime]:
    running = await start_discord(core, discord_config(fake, tmp_path), guild_ready_timeout=0.05)
    await running.wait_ready(timeout=10)
    yield running
    await running.stop()


def replies_to(fake: FakeDiscord, interaction_id: int) -> list[dict]:
    token = f"token-{interaction_id}"
    return [f for f in fake.followups if f["token"] == token]


async def answered(fake: FakeDiscord, interaction_id: int, count: int = 1) -> list[dict]:
    return await fake.wait_for(lambda: len(replies_to(fake, interaction_id)) >= count
                               and replies_to(fake, interaction_id))  # fmt: skip


async def test_login_gateway_and_command_sync(fake: FakeDiscord, runtime: DiscordRuntime) -> None:
    assert fake.events[:5] == ["SYNC", "HELLO", "IDENTIFY", "READY", "GUILD_CREATE"]
    assert fake.identifies[0]["token"] == "fake-token"
    assert runtime.client.user is not None and runtime.client.user.id == BOT_ID
    assert runtime.client.get_guild(GUILD_ID) is not None
    synced = {c["name"]: c for c in fake.commands[GUILD_ID]}
    assert set(synced) == {"papers", "papers-admin", "Show paper"}  # the dev guild: at once
    assert synced["Show paper"]["type"] == 3  # a message command: link cards
    assert None not in fake.commands
    admin = synced["papers-admin"]
    manage_channels = discord.Permissions(manage_channels=True).value
    assert int(admin["default_member_permissions"]) == manage_channels
    assert synced["papers"]["default_member_permissions"] is None
    subs = {o["name"]: o for o in admin["options"]}
    assert set(subs) == {"subscribe", "unsubscribe", "pause", "resume", "set", "post"}
    settings = {o["name"]: o for o in subs["set"]["options"]}
    assert set(settings) == {"time", "tz", "top", "days", "threads", "min-upvotes", "weekly"}
    top = settings["top"]["options"][0]
    assert (top["type"], top["min_value"], top["max_value"]) == (4, 1, 20)
    assert settings["tz"]["options"][0]["autocomplete"] is True
    assert "mon-fri" in [c["value"] for c in settings["days"]["options"][0]["choices"]]
    reading = {o["name"] for o in synced["papers"]["options"]}
    assert reading == {"help", "search", "show", "similar", "top", "list", "settings",
                       "preview", "why", "like", "save", "saved", "unsave", "forget"}  # fmt: skip


async def test_global_sync_without_dev_guild(
    fake: FakeDiscord, core: Paperpost, tmp_path: Path
) -> None:
    running = await start_discord(core, discord_config(fake, tmp_path, guild=None),
                                  guild_ready_timeout=0.05)  # fmt: skip
    try:
        assert {c["name"] for c in fake.commands[None]} == {"papers", "papers-admin", "Show paper"}
        assert any(r.path == f"/applications/{APP_ID}/commands" for r in fake.requests)
    finally:
        await running.stop()


async def test_search_is_deferred_then_answered_with_the_paper(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    paper = core.library.papers_on(DAY)[0]
    interaction = await fake.invoke("papers", "search", options={"query": paper.id})
    followups = await answered(fake, interaction)
    callback = next(c for c in fake.callbacks if c["id"] == interaction)
    assert callback["type"] == 5 and callback["data"]["flags"] & EPHEMERAL  # defer, ephemeral
    order = [e for e in fake.events if e.startswith(("CALLBACK", "FOLLOWUP"))]
    assert order[0] == "CALLBACK 5"  # the first response came back before any answer
    embeds = [e for f in followups for e in f["embeds"]]
    assert any(e["url"] == paper.hf_url for e in embeds)
    assert all(f["flags"] & EPHEMERAL for f in followups)
    assert all(f["allowed_mentions"] == {"parse": []} for f in followups)


async def test_help_is_ephemeral_and_names_the_admin_group(
    fake: FakeDiscord, runtime: DiscordRuntime
) -> None:
    interaction = await fake.invoke("papers", "help")
    followups = await answered(fake, interaction)
    text = followups[0]["content"]
    assert text.startswith("```") and "/papers-admin subscribe" in text
    assert "/papers search" in text and followups[0]["flags"] & EPHEMERAL


async def test_timezone_autocomplete(fake: FakeDiscord, runtime: DiscordRuntime) -> None:
    interaction = await fake.invoke(
        "papers-admin", "set", "tz", options={"zone": "europe/ber"}, autocomplete_focus="zone"
    )
    await fake.wait_for(lambda: any(c["id"] == interaction for c in fake.callbacks))
    callback = next(c for c in fake.callbacks if c["id"] == interaction)
    assert callback["type"] == 8
    assert callback["data"]["choices"][0]["value"] == "Europe/Berlin"


async def test_subscribe_then_digest_posts_once_within_limits(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    interaction = await fake.invoke("papers-admin", "subscribe", options={"query": "model"})
    await answered(fake, interaction)
    announcement = await fake.wait_for(lambda: fake.messages[CHANNEL_ID])
    assert announcement[0]["content"].startswith(f"<@{USER_ID}> subscribed this channel to")
    assert announcement[0]["allowed_mentions"] == {"parse": []}
    before = len(fake.messages[CHANNEL_ID])

    deliveries = await core.post_digests(day=DAY)
    assert [d.outcome for d in deliveries] == [Outcome.SENT]
    posted = fake.messages[CHANNEL_ID][before:]
    assert posted, "the digest was posted"
    assert "Top papers of" in posted[0]["content"]
    for message in posted:
        assert embed_problems(message) == []
        assert message["allowed_mentions"] == {"parse": []}
        assert message["nonce"] and len(message["nonce"]) <= 25
    cards = [e for m in posted for e in m["embeds"]]
    assert len(cards) == deliveries[0].papers

    again = await core.post_digests(day=DAY)
    assert [d.outcome for d in again] == [Outcome.ALREADY_SENT]
    assert len(fake.messages[CHANNEL_ID]) == before + len(posted)


async def test_threads_mode_puts_details_in_a_thread(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    interaction = await fake.invoke("papers-admin", "set", "threads", options={"enabled": True})
    await answered(fake, interaction)
    start = len(fake.messages[CHANNEL_ID])
    [delivery] = await core.post_digests(day=DAY)
    assert delivery.outcome is Outcome.SENT
    [index] = fake.messages[CHANNEL_ID][start:]
    thread = fake.messages[int(index["id"])]
    assert sum(len(m["embeds"]) for m in thread) == delivery.papers
    assert fake.channels[int(index["id"])]["parent_id"] == str(CHANNEL_ID)


async def test_permanent_error_pauses_the_channel(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    interaction = await fake.invoke("papers-admin", "subscribe", options={"query": "model"})
    await answered(fake, interaction)
    fake.fail("POST", rf"/channels/{CHANNEL_ID}/messages", status=403, code=50013)
    [delivery] = await core.post_digests(day=DAY)
    assert delivery.outcome is Outcome.PAUSED
    assert core.channels.get(KEY).paused


async def test_search_corrections_and_similar_papers(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    # Defects caught: no did-you-mean on Discord; no /papers similar option.
    asked = await fake.invoke("papers", "search", options={"query": "difusion"})
    text = " ".join(f["content"] or "" for f in await answered(fake, asked))
    assert "Did you mean: diffusion (" in text
    asked = await fake.invoke("papers", "similar", options={"paper": "2608.19880"})
    embeds = [e for f in await answered(fake, asked) for e in f["embeds"]]
    assert len(embeds) >= 3 and all("2608.19880" not in e["url"] for e in embeds)


async def test_admin_post_puts_a_real_digest_in_the_channel_once(
    fake: FakeDiscord, runtime: DiscordRuntime
) -> None:
    interaction = await fake.invoke("papers-admin", "post")
    [reply] = await answered(fake, interaction)
    assert (
        reply["content"].startswith("Posted this channel's digest") and reply["flags"] & EPHEMERAL
    )
    posted = list(fake.messages[CHANNEL_ID])
    assert posted and "Top papers of" in posted[0]["content"]
    assert all(embed_problems(m) == [] for m in posted)

    again = await fake.invoke("papers-admin", "post")
    [reply] = await answered(fake, again)
    assert reply["content"].startswith("Nothing new to post")
    assert fake.messages[CHANNEL_ID] == posted


async def test_save_and_unsave_over_the_gateway(
    fake: FakeDiscord, runtime: DiscordRuntime, core: Paperpost
) -> None:
    """/papers save counts the caller's vote; /papers unsave with "ID all" typed into the
    paper option removes only the caller's own save (everyone's is a changer's command)."""
    paper = core.library.papers_on(DAY)[0]
    await core.handle(KEY, f"save {paper.id}", user="someone-else")
    saving = await fake.invoke("papers", "save", options={"paper": paper.id})
    [reply] = await answered(fake, saving)
    assert "Saved" in reply["content"] and reply["flags"] & EPHEMERAL
    unsaving = await fake.invoke("papers", "unsave", options={"paper": f"{paper.id} all"})
    await answered(fake, unsaving)
    assert [v.user for v in core.feedback.votes(KEY)] == ["someone-else"]

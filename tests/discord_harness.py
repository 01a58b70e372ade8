"""The fake Discord served for a test, and Paperpost's Discord runtime connected to it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket

from paperpost.adapters.discord import DiscordRuntime, start_discord
from paperpost.bot.app import Paperpost
from paperpost.bot.config import Config
from tests.fakes.discord_fake import GUILD_ID, FakeDiscord


@contextlib.asynccontextmanager
async def served(monkeypatch: pytest.MonkeyPatch, **options: Any) -> AsyncIterator[FakeDiscord]:
    """A started fake; start_discord aims discord.py's class attributes at it, and the
    monkeypatch puts them back after the test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    server = await FakeDiscord(**options).start()
    try:
        yield server
    finally:
        await server.close()


async def connected(fake: FakeDiscord, core: Paperpost, tmp_path: Path) -> DiscordRuntime:
    """Paperpost's Discord runtime on ``core``, connected to ``fake`` and ready."""
    config = Config(
        data_dir=tmp_path / "data", discord_bot_token="fake-token",
        discord_api_url=fake.api_url, discord_gateway_url=fake.gateway_url,
        discord_guild_id=GUILD_ID,
    )  # fmt: skip
    running = await start_discord(core, config, guild_ready_timeout=0.05)
    await running.wait_ready(timeout=10)
    return running

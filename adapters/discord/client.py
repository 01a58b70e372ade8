"""Running Discord inside Paperpost's one event loop.

``start_discord`` logs in (REST), syncs the slash commands and runs the
gateway connection as a task, so the scheduler and Slack share the loop.
``open_discord_platform`` logs in without the gateway, for ``paperpost digest``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket

from paperpost.adapters.discord.command_tree import PaperCommands
from paperpost.adapters.discord.context_menu import show_paper_menu
from paperpost.adapters.discord.delivery import DiscordPlatform
from paperpost.bot.channels.key import ChannelKey
from paperpost.bot.channels.replies import apology
from paperpost.bot.config import Config
from paperpost.bot.errors import UserError
from paperpost.bot.ports import Core

log = logging.getLogger(__name__)


def point_at(api_url: str, gateway_url: str | None) -> None:
    """Aim discord.py at ``DISCORD_API_URL`` / ``DISCORD_GATEWAY_URL``.

    Both are class attributes in discord.py, so this is process-wide; a process
    talks to one Discord anyway. Without a gateway URL the default is kept (a
    plain ``Client`` never asks ``GET /gateway``; READY's resume URL is used after).
    """
    discord.http.Route.BASE = api_url.rstrip("/")
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class PaperpostClient(discord.Client):
    """A gateway client with the ``/papers`` commands; syncs them on login."""

    def __init__(self, core: Core, *, guild_id: int | None = None, **options: Any) -> None:
        # Interactions arrive whatever the intents; guilds keeps the channel cache useful.
        super().__init__(intents=discord.Intents(guilds=True), **options)
        self.tree = app_commands.CommandTree(self)
        self.commands = PaperCommands(core)
        for group in self.commands.groups:
            self.tree.add_command(group)
        self.tree.add_command(show_paper_menu(core))  # "Show paper" on a message with links
        self.tree.error(self._on_command_error)
        self._guild_id = guild_id
        self._core = core

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        """A channel deleted (CHANNEL_DELETE): its votes, saves and settings go. Nothing
        else removes them all: not the bot's removal, not a posting error."""
        key = ChannelKey("discord", str(channel.guild.id), str(channel.id))
        try:
            await self._core.forget_channel(key)
        except Exception:  # an event handler's failure must stay in the log
            log.exception("forgetting the deleted channel %s failed", key)

    async def setup_hook(self) -> None:
        if self._guild_id:  # a dev guild updates at once; global commands propagate lazily
            guild = discord.Object(self._guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("synced %d Discord commands (%s)", len(synced), self._guild_id or "global")

    async def _on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        text = apology(error, platform="discord", channel=str(interaction.channel_id)).text
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)


class ShardedPaperpostClient(PaperpostClient, discord.AutoShardedClient):
    """The same client over several shards (``shard_ids`` of ``shard_count``), each
    its own gateway connection; Discord routes a guild's events to shard
    ``(guild_id >> 22) % shard_count``, so replicas split the servers between them."""


def _client(core: Core, config: Config, options: dict[str, Any]) -> PaperpostClient:
    """One plain gateway connection, unless DISCORD_SHARD_IDS/COUNT split the shards."""
    if config.discord_shard_count is None:
        return PaperpostClient(core, guild_id=config.discord_guild_id, **options)
    return ShardedPaperpostClient(
        core,
        guild_id=config.discord_guild_id,
        shard_ids=list(config.discord_shard_ids or range(config.discord_shard_count)),
        shard_count=config.discord_shard_count,
        **options,
    )


class DiscordRuntime:
    """The running Discord side: a connected client plus its platform."""

    def __init__(
        self, client: PaperpostClient, platform: DiscordPlatform, task: asyncio.Task[None]
    ):
        self.client = client
        self.platform = platform
        self.task = task

    async def wait_ready(self, timeout: float | None = 60.0) -> None:
        """Until READY and the guilds' GUILD_CREATE arrived (or the connection died)."""
        ready = asyncio.ensure_future(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self.task}, timeout=timeout, return_when="FIRST_COMPLETED"
        )
        if ready not in done:
            ready.cancel()
            if self.task in done:
                self.task.result()  # raises what ended the connection
            raise TimeoutError("Discord gateway not ready in time")

    async def stop(self) -> None:
        await self.client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self.task, timeout=10)


async def _log_in(client: discord.Client, token: str) -> None:
    """Log in over REST; a refused token is a ``UserError`` naming the variable.
    Connection errors propagate as they are: the caller retries those."""
    try:
        await client.login(token)
    except discord.LoginFailure as exc:
        await client.close()
        raise UserError(f"Discord refused DISCORD_BOT_TOKEN: {exc}") from exc
    except BaseException:
        await client.close()
        raise


def _log_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("Discord gateway connection ended", exc_info=task.exception())


async def start_discord(core: Core, config: Config, **client_options: Any) -> DiscordRuntime:
    """Log in, sync commands, register the platform, connect the gateway as a task.

    Raises ``UserError`` naming DISCORD_BOT_TOKEN for a refused token (before any
    task exists); connection errors propagate for the caller to retry.
    ``client_options`` go to ``discord.Client`` (tests pass ``guild_ready_timeout``).
    """
    if not config.discord_bot_token:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    point_at(config.discord_api_url, config.discord_gateway_url)
    client = _client(core, config, client_options)
    await _log_in(client, config.discord_bot_token)
    platform = DiscordPlatform(client)
    core.register_platform(platform)
    task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
    task.add_done_callback(_log_end)
    return DiscordRuntime(client, platform, task)


async def open_discord_platform(config: Config) -> DiscordPlatform:
    """A post-only platform (REST, no gateway); ``await platform.aclose()`` when done."""
    if not config.discord_bot_token:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    point_at(config.discord_api_url, config.discord_gateway_url)
    client = discord.Client(intents=discord.Intents(guilds=True))  # never connects
    await _log_in(client, config.discord_bot_token)
    return DiscordPlatform(client)
